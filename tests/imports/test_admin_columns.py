"""The admin's column mapping screen: an upload shows its columns and first rows, the user maps them, the import starts."""
import csv
import io
import re
from html import unescape as html_unescape
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob, VendorColumnMapping
from imports.products.mappings import vendor_column_mapping_save
from tests.conftest import CLERK_PERMISSIONS
from tests.factories import LimitedStaffFactory
from tests.imports.conftest import columns_post
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/imports/marketplaceimportjob/add/"
HEADER = "Artikelnummer;Bezeichnung;Preis;Lagerbestand;Intern"
FEED = f"{HEADER}\nA-1;Fahrradlampe;12,50 EUR;4;x\nA-2;Klingel;gratis;0;y\n".encode()
MAPPING = {"Artikelnummer": "id", "Bezeichnung": "title", "Preis": "price", "Lagerbestand": "quantity", "Intern": ""}


@pytest.fixture
def admin_client(client, clerk_user):
    """A staff member who is not a superuser (the clerk) uses the screen."""
    client.force_login(clerk_user)
    return client


def upload_feed(client, vendor, content=FEED, **extra):
    data = {"vendor": vendor.pk, "marketplace": "letzshop", "upload": SimpleUploadedFile("velo.csv", content), **extra}
    return client.post(ADD_URL, data)


def selected(html: str, index: int) -> str:
    """The value selected in the select of source column ``index``."""
    select = re.search(rf'<select name="columns-{index}-field"[^>]*>(.*?)</select>', html, re.S).group(1)
    match = re.search(r'<option value="([^"]*)" selected>', select)
    return match.group(1) if match else ""


def test_upload_of_an_unknown_format_lands_on_the_mapping_screen(admin_client, vendor):
    response = upload_feed(admin_client, vendor)

    assert response.status_code == 302
    assert response.url.startswith("/admin/imports/marketplaceimportjob/add/columns/?upload=")
    assert not MarketplaceImportJob.objects.exists()
    html = admin_client.get(response.url).content.decode()
    assert "<strong>Unknown format</strong>" in html
    for cell in HEADER.split(";"):
        assert f'<td class="source">{cell}</td>' in html
    assert "No preview until a key column" in html


def test_mapping_screen_starts_the_import_and_keeps_the_mapping(admin_client, vendor, django_capture_on_commit_callbacks):
    columns_url = upload_feed(admin_client, vendor).url
    header = HEADER.split(";")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(columns_url, columns_post(header, MAPPING, "Artikelnummer"))

    assert response.status_code == 302
    job = MarketplaceImportJob.objects.get()
    assert response.url == f"/admin/imports/marketplaceimportjob/#job-{job.pk}"
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert job.column_mapping == MAPPING
    assert job.source_name == "velo.csv"
    assert job.triggered_by.startswith("manual:clerk")
    assert list(Product.objects.filter(vendor=vendor).values_list("sku", "quantity")) == [("A-1", 4)]
    assert job.rejected_sample[0]["line"] == 3
    # Kept: the columns set by hand (those the usual names do not read).
    assert VendorColumnMapping.objects.get(vendor=vendor).mapping == {cell: f for cell, f in MAPPING.items() if f}
    summary = admin_client.get(f"/admin/imports/marketplaceimportjob/{job.pk}/summary/").content.decode()
    assert "<th>Columns</th><td>Artikelnummer → id, Bezeichnung → title, Preis → price, Lagerbestand → quantity</td>" in summary


def test_the_screen_sent_again_starts_no_second_import(admin_client, vendor):
    columns_url = upload_feed(admin_client, vendor).url
    confirm = columns_post(HEADER.split(";"), MAPPING, "Artikelnummer")
    first = admin_client.post(columns_url, confirm)

    again = admin_client.post(columns_url, confirm)

    job = MarketplaceImportJob.objects.get()
    assert again.status_code == 302 and again.url == first.url == f"/admin/imports/marketplaceimportjob/#job-{job.pk}"
    assert f"already started (#{job.pk})" in admin_client.get(again.url).content.decode()


def test_preview_shows_the_first_rows_as_imported_and_their_errors(admin_client, vendor):
    columns_url = upload_feed(admin_client, vendor).url

    response = admin_client.post(columns_url, columns_post(HEADER.split(";"), MAPPING, "Artikelnummer", button="_preview"))

    html = response.content.decode()
    assert response.status_code == 200
    assert not MarketplaceImportJob.objects.exists()
    assert "<th>id</th><th>title</th><th>price</th><th>currency</th><th>quantity</th>" in html
    assert "<td>A-1</td><td>Fahrradlampe</td><td>12.50</td><td>EUR</td><td>4</td>" in html
    assert re.search(r"<td>3</td>\s*<td colspan=\"5\" class=\"errorlist\">.*gratis", html)


def test_next_upload_with_the_same_columns_is_prefilled_from_the_saved_mapping(admin_client, vendor):
    vendor_column_mapping_save(vendor=vendor, header=HEADER.split(";"), preset="", mapping=MAPPING)

    html = admin_client.get(upload_feed(admin_client, vendor).url).content.decode()

    assert 'id="saved-mapping"' in html
    assert "The vendor's own columns" in html
    assert re.search(r'<option value="0" selected>Artikelnummer</option>', html)
    assert [selected(html, i) for i in range(5)] == ["id", "title", "price", "quantity", ""]
    assert "<td>A-1</td><td>Fahrradlampe</td>" in html


def test_a_known_format_is_prefilled_from_its_columns(admin_client, vendor):
    feed = b"sku,name,price,stock\nS-1,Selle,20 EUR,3\n"

    html = admin_client.get(upload_feed(admin_client, vendor, feed).url).content.decode()

    assert "Usual feed columns" in html
    assert re.search(r'<option value="0" selected>sku</option>', html)
    assert [selected(html, i) for i in range(4)] == ["id", "title", "price", "quantity"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Preis": ""}, "The required column &#x27;price&#x27; is missing"),
        ({"Intern": "title"}, "Only one column can go to &#x27;title&#x27;"),
    ],
)
def test_a_mapping_that_cannot_import_is_refused_on_the_screen(admin_client, vendor, change, message):
    columns_url = upload_feed(admin_client, vendor).url

    response = admin_client.post(columns_url, columns_post(HEADER.split(";"), {**MAPPING, **change}, "Artikelnummer"))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MarketplaceImportJob.objects.exists()
    assert not VendorColumnMapping.objects.exists()


def test_key_column_cannot_also_go_to_another_field(admin_client, vendor):
    columns_url = upload_feed(admin_client, vendor).url
    data = columns_post(HEADER.split(";"), MAPPING, "Artikelnummer")
    data["columns-0-field"] = "mpn"

    response = admin_client.post(columns_url, data)

    assert "it cannot also go to &#x27;mpn&#x27;" in response.content.decode()
    assert not MarketplaceImportJob.objects.exists()


def test_a_file_without_columns_is_refused_at_the_upload(admin_client, vendor):
    response = upload_feed(admin_client, vendor, b"   \n")

    assert response.status_code == 200
    assert "The file is empty." in response.content.decode()
    assert not MarketplaceImportJob.objects.exists()
    _dirs, files = storages["private"].listdir("imports/feeds") if storages["private"].exists("imports/feeds") else ([], [])
    assert files == []


def test_a_forged_upload_link_goes_back_to_the_form(admin_client):
    response = admin_client.get("/admin/imports/marketplaceimportjob/add/columns/?upload=forged:token")

    assert response.status_code == 302
    assert response.url == ADD_URL


def test_the_screen_needs_the_add_permission(client, vendor, admin_client):
    columns_url = upload_feed(admin_client, vendor).url
    viewer = LimitedStaffFactory(permissions=[p for p in CLERK_PERMISSIONS if not p.startswith("add_")])
    client.force_login(viewer)

    assert client.get(columns_url).status_code == 403


def test_a_url_import_starts_at_once(admin_client, vendor):
    response = admin_client.post(
        ADD_URL, {"vendor": vendor.pk, "marketplace": "letzshop", "source_url": "https://feeds.example.com/a.csv"}
    )

    assert response.status_code == 302
    assert MarketplaceImportJob.objects.get().source_url == "https://feeds.example.com/a.csv"


WOO = (
    b"ID,Type,SKU,Name,Regular price,Sale price,Stock,In stock?\n"
    b"11,variable,W-TEE,T-shirt,,,,1\n"
    b"12,simple,W-1,Lampe,20,,3,1\n"
    b"13,simple,W-2,Klingel,5,4,0,0\n"
)


def test_a_shop_export_shows_its_preset_and_imports_as_it_means(admin_client, vendor, django_capture_on_commit_callbacks):
    columns_url = upload_feed(admin_client, vendor, WOO).url
    html = admin_client.get(columns_url).content.decode()

    assert "WooCommerce product CSV" in html
    # The shop's sku column is the key, not its internal id; the parent row is skipped, as the import will.
    assert re.search(r'<option value="2" selected>SKU</option>', html)
    assert "Skipped:" in html
    header = WOO.decode().split("\n", 1)[0].split(",")
    untouched = {f"columns-{i}-field": selected(html, i) for i in range(len(header))}
    data = {**columns_post(header, {}, "SKU"), **untouched}

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(columns_url, data)

    job = MarketplaceImportJob.objects.get()
    assert (job.requested_preset, job.requested_mapping, job.preset) == ("woocommerce", {}, "woocommerce")
    assert sorted(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == ["W-1", "W-2"]


def test_changing_the_key_column_of_a_preset_is_kept_as_an_override(admin_client, vendor, django_capture_on_commit_callbacks):
    columns_url = upload_feed(admin_client, vendor, WOO).url
    html = admin_client.get(columns_url).content.decode()
    header = WOO.decode().split("\n", 1)[0].split(",")
    data = {**columns_post(header, {}, "ID"), **{f"columns-{i}-field": selected(html, i) for i in range(len(header))}}
    data["columns-2-field"] = "mpn"

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(columns_url, data)

    job = MarketplaceImportJob.objects.get()
    assert job.requested_mapping == {"ID": "id", "SKU": "mpn"}
    assert VendorColumnMapping.objects.get(vendor=vendor).mapping == {"ID": "id", "SKU": "mpn"}
    assert sorted(Product.objects.filter(vendor=vendor).values_list("sku", "mpn")) == [("12", "W-1"), ("13", "W-2")]


def test_shop_option_columns_say_they_go_to_color_or_size_by_name(admin_client, vendor, django_capture_on_commit_callbacks):
    feed = (Path(__file__).parent / "feeds" / "shopify_options.csv").read_bytes()
    columns_url = upload_feed(admin_client, vendor, feed).url
    html = admin_client.get(columns_url).content.decode()
    header = next(csv.reader(io.StringIO(feed.decode())))
    shown = {cell: html_unescape(selected(html, i)) for i, cell in enumerate(header)}

    assert "Shopify product CSV" in html
    assert shown["Option1 Name"] == "color or size: names what its option's value is (Color, Size…)"
    assert shown["Option2 Value"].startswith("color or size, by the option's name")
    assert (shown["Variant SKU"], shown["Variant Inventory Qty"]) == ("id", "quantity")
    assert re.search(rf'<option value="{header.index("Variant SKU")}" selected>Variant SKU</option>', html)
    # Sent back as shown, the import reads the options as the preset does, with nothing set by hand.
    data = {**columns_post(header, {}, "Variant SKU"), **{f"columns-{i}-field": shown[cell] for i, cell in enumerate(header)}}
    data[f"columns-{header.index('Variant SKU')}-field"] = ""

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(columns_url, data)

    job = MarketplaceImportJob.objects.get()
    assert (job.requested_preset, job.requested_mapping) == ("shopify", {})
    assert job.column_mapping["Option1 Value"] == shown["Option1 Value"]
    assert Product.objects.get(vendor=vendor, sku="LS-M-SND").color == "Sand"


def test_a_note_is_offered_only_for_the_column_it_describes(admin_client, vendor):
    feed = (Path(__file__).parent / "feeds" / "shopify_options.csv").read_bytes()
    columns_url = upload_feed(admin_client, vendor, feed).url
    header = next(csv.reader(io.StringIO(feed.decode())))
    html = admin_client.get(columns_url).content.decode()
    data = {**columns_post(header, {}, "Variant SKU"), **{f"columns-{i}-field": html_unescape(selected(html, i)) for i in range(len(header))}}
    data[f"columns-{header.index('Variant SKU')}-field"] = ""
    data[f"columns-{header.index('Title')}-field"] = "color or size, by the option's name"

    response = admin_client.post(columns_url, data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not MarketplaceImportJob.objects.exists()


def test_a_shops_own_number_says_it_is_the_key_only_without_a_sku(admin_client, vendor, django_capture_on_commit_callbacks):
    columns_url = upload_feed(admin_client, vendor, WOO).url
    html = admin_client.get(columns_url).content.decode()
    header = WOO.decode().split("\n", 1)[0].split(",")
    shown = {cell: html_unescape(selected(html, i)) for i, cell in enumerate(header)}

    assert (shown["SKU"], shown["ID"]) == ("id", "id, for a row without a SKU")
    assert re.search(rf'<option value="{header.index("SKU")}" selected>SKU</option>', html)
    # Sent back as shown: nothing set by hand, the SKU is the key.
    data = {**columns_post(header, {}, "SKU"), **{f"columns-{i}-field": shown[cell] for i, cell in enumerate(header)}}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(columns_url, data)
    job = MarketplaceImportJob.objects.get()
    assert job.requested_mapping == {}
    assert sorted(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == ["W-1", "W-2"]


XML_FEEDS = Path(__file__).parent / "xml"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "byte-order-mark"])
def test_an_xml_feed_starts_its_import_at_once(admin_client, clerk_user, vendor, bom, django_capture_on_commit_callbacks):
    # A Google Merchant feed names its fields by Google's attributes: there is nothing to map.
    rss = (XML_FEEDS / "google-merchant-rss.xml").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ADD_URL, {
            "vendor": vendor.pk, "marketplace": "letzshop",
            "upload": SimpleUploadedFile("google.xml", bom + rss, content_type="application/xml"),
        })

    assert response.status_code == 302
    assert "/add/columns/" not in response.url
    job = MarketplaceImportJob.objects.get()
    assert response.url.endswith(f"#job-{job.pk}")
    assert (job.source_name, job.triggered_by) == ("google.xml", f"manual:{clerk_user.username}")
    job.refresh_from_db()
    # The sample's five items: four products, one without a price rejected.
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_rejected) == (5, 4, 1)
    assert Product.objects.filter(vendor=vendor).count() == 4
    assert not VendorColumnMapping.objects.exists()
