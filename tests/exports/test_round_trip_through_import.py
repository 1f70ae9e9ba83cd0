"""An exported CSV, read by the real product import into another vendor, gives the same products."""
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

COMPARED_FIELDS = [*FEED_COLUMNS.values(), "currency"]

# Text a real catalogue holds; the import strips the ends of every cell, so none is padded.
TEXTS = [
    "Crème brûlée « maison » — 250 g",
    'Line one\nLine two, with "quotes" and, commas',
    "Windows line\r\nbreaks inside",
    "Fish & chips <b>bold</b> ]]> <![CDATA[x]]>",
    "Emoji 🚲 and 中文 and ß",
    "semi;colon|pipe\\backslash",
    "Straße 12, Esch-sur-Alzette",
    # Cells the export protects against spreadsheet formulas come back as they were.
    "=SUM(A1:A9)",
    "+33 6 12 34 56 78",
    "-20% this week",
    "@vendor on social media",
    "'quoted from the start",
]


@pytest.fixture
def realistic_catalogue(db):
    vendor = VendorFactory(code="maison-lux")
    for index, text in enumerate(TEXTS):
        ProductFactory(
            vendor=vendor,
            sku=f"ML-{index:03d}",
            title=text.replace("\n", " ").replace("\r", ""),
            description=text,
            link=f"https://shop.example/p/{index}?a=1&b=2",
            image_link=f"https://shop.example/i/{index}.jpg",
            additional_image_link="https://shop.example/a.jpg,https://shop.example/b.jpg" if index % 2 else "",
            availability=Product.Availability.values[index % len(Product.Availability.values)],
            price=Decimal("1234.50") + index,
            sale_price=Decimal("999.99") if index % 3 == 0 else None,
            brand="L'Artisan" if index % 2 else "Maison Lux",
            gtin=f"{index:013d}",
            mpn=f"MPN{index}",
            condition=Product.Condition.values[index % len(Product.Condition.values)],
            google_product_category="Home & Garden > Kitchen",
            product_type="Cuisine > Desserts",
            color="Rouge/Blanc",
            size="XL",
            weight="0.25 kg",
            quantity=None if index == 1 else index * 7,
        )
    return vendor


def test_export_then_product_import_into_another_vendor_gives_identical_products(
    realistic_catalogue, run_export, run_on_commit
):
    export = run_export(vendor=realistic_catalogue, format="csv")
    other = VendorFactory(code="copy-vendor")

    imported = run_on_commit(
        product_import_create,
        vendor=other,
        triggered_by="manual:test",
        upload=ContentFile(file_bytes(export), name="export.csv"),
    )
    imported.refresh_from_db()

    assert imported.status == TaskStatus.COMPLETED, imported.error_message
    original = list(Product.objects.filter(vendor=realistic_catalogue).order_by("sku").values(*COMPARED_FIELDS))
    copied = list(Product.objects.filter(vendor=other).order_by("sku").values(*COMPARED_FIELDS))
    assert len(copied) == len(original) == export.row_count
    for before, after in zip(original, copied, strict=True):
        assert after == before
