"""An exported CSV, imported into another vendor, gives the same products field by field."""
import pytest

from background_tasks.status import TaskStatus
from tests.factories import VendorFactory
from wizamart.marketplace.feed import FEED_COLUMNS
from wizamart.marketplace.models import Product

from .conftest import file_bytes, read_feed_csv

pytestmark = pytest.mark.django_db

COMPARED_FIELDS = [*FEED_COLUMNS.values(), "currency"]


def test_export_then_import_into_another_vendor_gives_identical_products(catalogue, run_export):
    vendor, products = catalogue

    job = run_export(vendor=vendor, format="csv")
    rows = read_feed_csv(file_bytes(job))
    other = VendorFactory(code="copy-vendor")
    Product.objects.bulk_create(Product(vendor=other, **row) for row in rows)

    assert job.status == TaskStatus.COMPLETED
    assert job.row_count == len(products) == len(rows)
    original = list(Product.objects.filter(vendor=vendor).order_by("sku").values(*COMPARED_FIELDS))
    copied = list(Product.objects.filter(vendor=other).order_by("sku").values(*COMPARED_FIELDS))
    for before, after in zip(original, copied, strict=True):
        assert after == before


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
