"""The XML export, read by the real product import, gives the same products; re-imported, it rewrites none."""
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from background_tasks.status import TaskStatus
from imports.products.services import product_import_create
from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.feed import FEED_COLUMNS
from wizamart.marketplace.models import Product

from .conftest import file_bytes

pytestmark = pytest.mark.django_db

# Quantity is no Google attribute: the XML feed leaves it out, and the import leaves it as stored.
COMPARED_FIELDS = [*(field for field in FEED_COLUMNS.values() if field != "quantity"), "currency"]

# Text a real catalogue holds (XML 1.0 cannot carry control characters; the import trims every value).
TEXTS = [
    "Crème brûlée « maison » — 250 g",
    'Line one\nLine two, with "quotes" and, commas',
    "Windows line\r\nbreaks inside",
    "Fish & chips <b>bold</b> ]]> <![CDATA[x]]> &amp; &#233;",
    "Emoji 🚲 and 中文 and ß",
    "semi;colon|pipe\\backslash",
    "=SUM(A1:A9)",
    "+33 6 12 34 56 78",
    "-20% this week",
    "@vendor on social media",
    "'quoted from the start",
    "'=already guarded",
]


def catalogue(vendor, *, sku_prefix="ML"):
    """Products in the forms Google takes (weights with a unit, titles of at most 150 characters)."""
    for index, text in enumerate(TEXTS):
        ProductFactory(
            vendor=vendor,
            sku=f"{sku_prefix}-{index:03d}",
            title=text.replace("\n", " ").replace("\r", ""),
            description=text,
            link=f"https://shop.example/p/{index}?a=1&b=2",
            image_link=f"https://shop.example/i/{index}.jpg",
            additional_image_link="https://shop.example/a.jpg,https://shop.example/b.jpg" if index % 2 else "",
            availability=Product.Availability.values[index % len(Product.Availability.values)],
            price=Decimal("1234.50") + index,
            currency="EUR",
            sale_price=Decimal("999.99") if index % 3 == 0 else None,
            brand="" if index % 4 == 0 else "L'Artisan",
            gtin="" if index % 4 == 0 else f"{index:013d}",
            mpn="" if index % 4 == 0 else f"MPN{index}",
            condition=Product.Condition.values[index % len(Product.Condition.values)],
            google_product_category="Home & Garden > Kitchen",
            product_type="Cuisine > Desserts",
            color="Rouge/Blanc",
            size="XL",
            weight="0.25 kg" if index % 2 else "",
            quantity=index * 7,
        )


def stored(vendor) -> list[dict]:
    return list(Product.objects.filter(vendor=vendor).order_by("sku").values(*COMPARED_FIELDS))


def import_feed(run_on_commit, vendor, data: bytes):
    job = run_on_commit(
        product_import_create, vendor=vendor, triggered_by="manual:test", upload=ContentFile(data, name="feed.xml")
    )
    job.refresh_from_db()
    return job


def test_xml_export_imported_into_another_vendor_gives_the_same_products(run_export, run_on_commit):
    source = VendorFactory(code="maison-lux")
    catalogue(source)
    export = run_export(vendor=source, format="xml")
    copy = VendorFactory(code="copy-vendor")

    job = import_feed(run_on_commit, copy, file_bytes(export))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.rows_created == export.row_count == len(TEXTS)
    assert stored(copy) == stored(source)


def test_xml_export_imported_again_rewrites_nothing(run_export, run_on_commit):
    vendor = VendorFactory(code="maison-lux")
    catalogue(vendor)
    before = stored(vendor)
    quantities = list(Product.objects.filter(vendor=vendor).order_by("sku").values_list("quantity", flat=True))
    export = run_export(vendor=vendor, format="xml")

    job = import_feed(run_on_commit, vendor, file_bytes(export))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged) == (len(TEXTS), 0, 0, len(TEXTS))
    assert stored(vendor) == before
    assert list(Product.objects.filter(vendor=vendor).order_by("sku").values_list("quantity", flat=True)) == quantities


def test_a_feed_of_every_vendor_imports_for_one_vendor_its_own_items(run_export, run_on_commit):
    lux, esch = VendorFactory(code="maison-lux"), VendorFactory(code="velo-esch")
    catalogue(lux)
    catalogue(esch, sku_prefix="VE")
    ProductFactory(vendor=esch, sku="ML-000", title="Same sku as a product of maison-lux")
    before = {vendor.code: stored(vendor) for vendor in (lux, esch)}
    export = run_export(format="xml")

    job = import_feed(run_on_commit, lux, file_bytes(export))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged) == (len(TEXTS), 0, 0, len(TEXTS))
    assert job.file_info["items_of_other_vendors"] == len(TEXTS) + 1
    assert {vendor.code: stored(vendor) for vendor in (lux, esch)} == before


def test_a_feed_of_every_vendor_fails_for_a_vendor_it_does_not_list(run_export, run_on_commit):
    catalogue(VendorFactory(code="maison-lux"))
    export = run_export(format="xml")
    stranger = VendorFactory(code="stranger")

    job = import_feed(run_on_commit, stranger, file_bytes(export))

    assert job.status == TaskStatus.FAILED
    assert job.error_message == (
        "No item of this feed belongs to vendor 'stranger': its items are those of maison-lux (g:external_seller_id)."
    )
    assert not Product.objects.filter(vendor=stranger).exists()


def test_a_title_longer_than_google_allows_comes_back_cut(run_export, run_on_commit):
    vendor = VendorFactory()
    ProductFactory(vendor=vendor, sku="LONG", title="x" * 200, link="l", image_link="i", description="d")

    job = import_feed(run_on_commit, vendor, file_bytes(run_export(vendor=vendor, format="xml")))

    assert job.rows_updated == 1
    assert Product.objects.get(vendor=vendor, sku="LONG").title == "x" * 150


def test_a_feed_of_every_vendor_deactivates_only_the_importing_vendors_missing_products(run_export, run_on_commit):
    lux, esch = VendorFactory(code="maison-lux"), VendorFactory(code="velo-esch")
    catalogue(lux)
    catalogue(esch, sku_prefix="VE")
    export = run_export(format="xml")
    ProductFactory(vendor=lux, sku="ML-NEW", title="Not in the feed")
    ProductFactory(vendor=esch, sku="VE-NEW", title="Not in the feed either")

    job = run_on_commit(
        product_import_create, vendor=lux, triggered_by="manual:test", deactivate_missing=True,
        upload=ContentFile(file_bytes(export), name="feed.xml"),
    )
    job.refresh_from_db()

    assert job.rows_deactivated == 1
    assert list(Product.objects.filter(is_active=False).values_list("vendor__code", "sku")) == [("maison-lux", "ML-NEW")]
