"""Google Merchant XML feeds (RSS 2.0 and Atom 1.0) import through the real job, as CSV feeds do."""
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from background_tasks.status import TaskStatus
from imports.products.services import private_storage
from imports.products.staging import may_stage
from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.models import Product

from .conftest import assert_counts_add_up

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("write_path")]

SAMPLES = Path(__file__).parent / "xml"
RSS = (SAMPLES / "google-merchant-rss.xml").read_bytes()
ATOM = (SAMPLES / "google-merchant-atom.xml").read_bytes()


def products(vendor):
    return {p.sku: p for p in Product.objects.filter(vendor=vendor)}


def test_rss_feed_imports_every_google_attribute(run_import, vendor):
    job = run_import(RSS)

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_rejected) == (5, 4, 1)
    assert_counts_add_up(job)
    bike = products(vendor)["VE-1001"]
    assert bike.title == 'Vélo de ville « Minett » 28"'
    assert bike.description.startswith("<p>Un vélo <b>robuste</b> pour la ville &amp; la campagne.</p>\n<ul>")
    assert bike.link == "https://velo-esch.example.lu/p/minett?ref=feed&lang=fr"
    assert bike.image_link == "https://velo-esch.example.lu/img/minett.jpg"
    assert bike.additional_image_link == ",".join(
        f"https://velo-esch.example.lu/img/minett-{view}.jpg" for view in ("side", "back", "detail")
    )
    # g:shipping's own g:price is the shipping cost, not the product's price.
    assert (bike.price, bike.currency, bike.sale_price) == (Decimal("649.00"), "EUR", Decimal("599.00"))
    assert (bike.brand, bike.gtin, bike.mpn, bike.condition) == ("Minett Cycles", "4006381333931", "MC-28-ALU", "new")
    assert bike.google_product_category == "Sporting Goods > Outdoor Recreation > Cycling > Bicycles"
    assert (bike.product_type, bike.color, bike.size, bike.weight) == ("Vélos > Ville", "Bleu/Blanc", "M", "14.5 kg")
    assert bike.availability == Product.Availability.IN_STOCK


def test_rss_items_use_plain_title_link_description_and_entities(run_import, vendor):
    run_import(RSS)

    bell = products(vendor)["VE-2002"]
    assert bell.title == "Sonnette laiton — édition limitée"
    assert bell.link == "https://velo-esch.example.lu/p/sonnette"
    assert bell.description == "<p>Son clair & net.</p> Fits 22\u201125\u00a0mm bars."
    assert (bell.price, bell.availability, bell.condition) == (Decimal("12.50"), "out_of_stock", "refurbished")
    # g:title wins over RSS's own title; g:quantity (local inventory feeds) is read too.
    lock = products(vendor)["VE-5005"]
    assert (lock.title, lock.quantity, lock.availability) == ("Antivol U", 12, "preorder")


def test_missing_optional_elements_are_empty_and_a_missing_price_rejects_the_item_with_its_line(run_import, vendor):
    job = run_import(RSS)

    tube = products(vendor)["VE-3003"]
    assert (tube.brand, tube.gtin, tube.description, tube.additional_image_link, tube.sale_price) == ("", "", "", "", None)
    assert "VE-4004" not in products(vendor)
    assert job.rejected_sample == [{"line": 54, "sku": "VE-4004", "error": "missing price"}]
    report = private_storage().open(job.error_report, "rb").read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(report)))
    assert [(row["id"], row["title"], row["error"]) for row in rows] == [("VE-4004", "Casque sans prix", "missing price")]


def test_details_describe_the_xml_feed(run_import):
    job = run_import(RSS)

    assert job.file_info["format"] == "Google Merchant XML (RSS 2.0)"
    assert job.file_info["items"] == 5
    assert job.file_info["reader"] == "python"
    assert {"g:shipping", "g:identifier_exists"} <= set(job.file_info["ignored_elements"])
    # Where PostgreSQL could read a CSV feed itself, the details say why this one is read in Python.
    if may_stage():
        assert job.file_info["python_reader_because"] == "an XML feed: its items are read in Python"
    else:
        assert "python_reader_because" not in job.file_info


def test_atom_feed_imports_entries(run_import, vendor):
    job = run_import(ATOM)

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_rejected) == (4, 3, 1)
    assert job.file_info["format"] == "Google Merchant XML (Atom 1.0)"
    sweater = products(vendor)["ML-1"]
    assert (sweater.title, sweater.link) == ("Pull en laine rouge", "https://maison-lux.example.lu/p/ml-1")
    assert sweater.description == "Doux et chaud, pour les soirées d'hiver."
    assert (sweater.brand, sweater.color, sweater.size, sweater.price) == ("Maison Lux", "Rouge", "L", Decimal("89.00"))
    scarf = products(vendor)["ML-2"]
    assert scarf.title == "Écharpe cachemire et soie"
    assert scarf.link == "https://maison-lux.example.lu/p/ml-2"  # rel="alternate", not the enclosure
    assert scarf.description == "<p>Cachemire &amp; soie</p>"
    assert scarf.additional_image_link == "https://maison-lux.example.lu/img/ml-2-a.jpg,https://maison-lux.example.lu/img/ml-2-b.jpg"
    assert products(vendor)["ML-4"].weight == "200 g"
    # The Atom <id> is the entry's URI, not its sku: an entry without g:id has no sku.
    assert job.rejected_sample == [{"line": 36, "sku": "", "error": "empty sku (id)"}]


@pytest.mark.parametrize("feed", [RSS, ATOM], ids=["rss", "atom"])
def test_importing_the_same_feed_again_writes_nothing(run_import, feed):
    first = run_import(feed)
    again = run_import(feed)

    assert (again.rows_created, again.rows_updated) == (0, 0)
    assert again.rows_unchanged == first.rows_created
    assert again.rows_rejected == first.rows_rejected


def test_an_item_without_an_element_the_feed_carries_has_none(run_import, vendor):
    ProductFactory(vendor=vendor, sku="VE-3003", title="Old", quantity=40, gtin="111")

    run_import(RSS)

    # Other items carry g:gtin and g:quantity: an item without them has none (Google's meaning).
    tube = products(vendor)["VE-3003"]
    assert (tube.title, tube.gtin, tube.quantity) == ("Chambre à air 700x25", "", None)


def test_a_feed_without_quantity_leaves_stored_quantities(run_import, vendor):
    ProductFactory(vendor=vendor, sku="ML-1", title="Old", quantity=40)

    run_import(ATOM)

    assert products(vendor)["ML-1"].quantity == 40


def test_declared_encoding_and_utf16_are_read(run_import, vendor):
    latin = RSS.decode().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("«", "").replace("»", "")
    latin = latin.replace("&#8212;", "-").replace("\u2011", "-")
    job = run_import(latin.encode("iso-8859-1", errors="strict"))
    assert job.rows_created == 4, job.error_message
    assert products(vendor)["VE-3003"].title == "Chambre à air 700x25"

    other = VendorFactory(code="utf16")
    job = run_import(ATOM.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), for_vendor=other)
    assert job.rows_created == 3, job.error_message
    assert products(other)["ML-2"].title == "Écharpe cachemire et soie"


def test_the_content_decides_not_the_name(run_import, vendor):
    # run_import names every upload feed.csv; a BOM, or blank lines before the root, do not hide the XML.
    job = run_import(b"\xef\xbb\xbf" + RSS)
    assert job.rows_created == 4, job.error_message

    job = run_import(b"\n  \n" + RSS.split(b"?>", 1)[1], for_vendor=VendorFactory(code="no-declaration"))

    assert job.rows_created == 4, job.error_message


def test_dry_run_counts_an_xml_feed_and_writes_nothing(run_import, vendor):
    job = run_import(RSS, dry_run=True)

    assert (job.rows_total, job.rows_created, job.rows_rejected) == (5, 4, 1)
    assert not Product.objects.filter(vendor=vendor).exists()


def test_a_windows_code_page_declared_by_the_feed_is_read(run_import, vendor):
    feed = (
        '<?xml version="1.0" encoding="windows-1252"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">'
        "<channel><item><g:id>CP-1</g:id><g:title>Prix 5 € – “spécial”</g:title><g:price>5 EUR</g:price></item>"
        "</channel></rss>\n"
    )

    job = run_import(feed.encode("cp1252"))

    assert job.rows_created == 1, job.error_message
    assert products(vendor)["CP-1"].title == "Prix 5 € – “spécial”"
