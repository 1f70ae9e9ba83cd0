"""An exported CSV, imported into another vendor, gives the same products field by field."""
import pytest
from django.core.files.base import ContentFile

from background_tasks.status import TaskStatus
from imports.products.services import product_import_create
from tests.factories import VendorFactory
from wizamart.marketplace.feed import FEED_COLUMNS, neutralise_cell
from wizamart.marketplace.models import Product

from .conftest import file_bytes, read_feed_csv

pytestmark = pytest.mark.django_db

COMPARED_FIELDS = [*FEED_COLUMNS.values(), "currency"]


def test_export_then_import_into_another_vendor_gives_identical_products(catalogue, run_export, run_on_commit):
    vendor, products = catalogue

    job = run_export(vendor=vendor, format="csv")
    other = VendorFactory(code="copy-vendor")
    imported = run_on_commit(
        product_import_create, vendor=other, triggered_by="manual:test", upload=ContentFile(file_bytes(job), name="export.csv")
    )
    imported.refresh_from_db()

    assert job.status == TaskStatus.COMPLETED
    assert imported.status == TaskStatus.COMPLETED, imported.error_message
    assert imported.rows_created == job.row_count == len(products)
    original = list(Product.objects.filter(vendor=vendor).order_by("sku").values(*COMPARED_FIELDS))
    copied = list(Product.objects.filter(vendor=other).order_by("sku").values(*COMPARED_FIELDS))
    assert len(copied) == len(original)
    for before, after in zip(original, copied, strict=True):
        assert after == as_imported(before)


def as_imported(values: dict) -> dict:
    """What the import stores for exported values: it strips the ends of every cell, and a cell the
    export guarded against formulas keeps its start (the guard is stripped instead, then removed)."""
    return {field: imported_text(value) if isinstance(value, str) else value for field, value in values.items()}


def imported_text(value: str) -> str:
    return value.rstrip() if neutralise_cell(value) != value else value.strip()


def test_csv_has_the_feed_columns_in_order(catalogue, run_export):
    vendor, _ = catalogue

    header = file_bytes(run_export(vendor=vendor)).split(b"\n", 1)[0].decode()

    assert header.split(",") == list(FEED_COLUMNS)


def test_inactive_products_are_not_exported(catalogue, run_export):
    vendor, products = catalogue
    Product.objects.filter(pk=products[0].pk).update(is_active=False)

    rows = read_feed_csv(file_bytes(run_export(vendor=vendor)))

    assert products[0].sku not in {row["sku"] for row in rows}
    assert len(rows) == len(products) - 1
