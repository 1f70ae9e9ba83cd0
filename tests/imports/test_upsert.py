"""Upsert by (vendor, sku): created, updated, unchanged (never written), dry run, re-runs, deactivation."""
import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from background_tasks.jobs import JobInterrupted, JobProgress
from background_tasks.services import background_task_claim, background_task_create
from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from imports.products.services import product_import_store_feed
from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.models import Product

from .conftest import assert_counts_add_up, progress_of_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("write_path")]

FEED = [
    "id,title,description,price,quantity,availability",
    "A-1,Chaise,Chêne massif,49.90 EUR,3,in stock",
    "A-2,Table,\"Grande,\nextensible\",199 EUR,1,in stock",
    "A-3,Lampe,,25 EUR,,out of stock",
    "A-4,Tapis,Laine,89,00 EUR,2,in stock",
    "A-5,Miroir,,35 EUR,5,preorder",
    "A-6,Vase,,12 EUR,9,in stock",
    "A-7,Coussin,,15 EUR,4,in stock",
]


def snapshot(vendor):
    fields = ("sku", "title", "description", "price", "currency", "quantity", "availability", "is_active", "updated_at")
    return list(Product.objects.filter(vendor=vendor).order_by("sku").values_list(*fields))


def test_first_import_creates_every_row(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes(*FEED))

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS  # A-4's unquoted decimal comma splits the row
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged) == (7, 6, 0, 0)
    assert job.rows_rejected == 1
    assert_counts_add_up(job)
    table = Product.objects.get(vendor=vendor, sku="A-2")
    assert table.description == "Grande,\nextensible"


def row_versions(vendor):
    """PostgreSQL's xmin of each product: it changes whenever a row is rewritten."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sku, xmin::text FROM marketplace_product WHERE vendor_id = %s ORDER BY sku", [vendor.pk])
        return cursor.fetchall()


def test_reimport_of_the_same_feed_writes_nothing(run_import, feed_bytes, vendor):
    run_import(feed_bytes(*FEED))
    before, versions = snapshot(vendor), row_versions(vendor)

    again = run_import(feed_bytes(*FEED))

    assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.rows_rejected) == (0, 0, 6, 1)
    assert snapshot(vendor) == before  # updated_at included
    assert row_versions(vendor) == versions  # not one row rewritten
    assert_counts_add_up(again)


def test_progress_reports_batches(vendor, feed_bytes, settings):
    settings.IMPORTS_BATCH_SIZE = 2
    seen = progress_of_import(vendor, feed_bytes(*FEED))

    messages = [message for _, message in seen if message and message.startswith("Processing")]
    assert messages[0].startswith("Processing batch 1 of ")
    assert messages[-1] == "Processing batch 3 of 3"  # 6 valid rows, 2 a batch
    percents = [percent for percent, message in seen if message in messages]
    assert percents == sorted(percents) and percents[-1] == 95


def test_changed_rows_are_updated_and_others_left_alone(run_import, feed_bytes, vendor):
    run_import(feed_bytes(*FEED))
    before = {row[0]: row for row in snapshot(vendor)}
    changed = [*FEED]
    changed[1] = "A-1,Chaise,Chêne massif,44.90 EUR,3,in stock"  # new price
    changed[3] = "A-3,Lampe,,25 EUR,0,out of stock"  # quantity from empty to 0
    changed.append("A-8,Étagère,,60 EUR,2,in stock")

    job = run_import(feed_bytes(*changed))

    assert (job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected) == (1, 2, 4, 1)
    after = {row[0]: row for row in snapshot(vendor)}
    assert str(after["A-1"][3]) == "44.90"
    assert after["A-1"][-1] > before["A-1"][-1]
    assert after["A-3"][5] == 0
    assert after["A-5"] == before["A-5"]


def test_columns_missing_from_the_feed_keep_their_values(run_import, feed_bytes, vendor):
    ProductFactory(vendor=vendor, sku="P-1", title="Pot", description="En grès", brand="Terra", quantity=4)

    job = run_import(feed_bytes("id,title,price", "P-1,Pot,12 EUR"))

    product = Product.objects.get(vendor=vendor, sku="P-1")
    assert job.rows_updated == 1
    assert (product.description, product.brand, product.quantity, str(product.price)) == ("En grès", "Terra", 4, "12.00")


def test_products_of_other_vendors_are_untouched(run_import, feed_bytes, vendor):
    other = ProductFactory(sku="A-1", title="Autre", vendor=VendorFactory(code="autre"))

    run_import(feed_bytes(*FEED))

    other.refresh_from_db()
    assert other.title == "Autre"


def test_dry_run_counts_and_writes_nothing(run_import, feed_bytes, vendor):
    ProductFactory(vendor=vendor, sku="A-1", title="Ancienne chaise")
    before = snapshot(vendor)

    job = run_import(feed_bytes(*FEED), dry_run=True, deactivate_missing=True)

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected) == (5, 1, 0, 1)
    assert snapshot(vendor) == before
    assert "dry run: nothing written" in job.progress_message


def test_deactivate_missing_products_of_a_full_feed(run_import, feed_bytes, vendor):
    gone = ProductFactory(vendor=vendor, sku="OLD-1")
    rejected_but_listed = ProductFactory(vendor=vendor, sku="A-4")

    job = run_import(feed_bytes(*FEED), deactivate_missing=True)

    gone.refresh_from_db()
    rejected_but_listed.refresh_from_db()
    assert job.rows_deactivated == 1
    assert gone.is_active is False
    assert rejected_but_listed.is_active is True  # its row was rejected, not missing


def test_a_feed_without_valid_rows_deactivates_nothing(run_import, feed_bytes, vendor):
    kept = ProductFactory(vendor=vendor, sku="K-1")

    job = run_import(feed_bytes("id,title,price", "X,,1 EUR"), deactivate_missing=True)

    kept.refresh_from_db()
    assert kept.is_active is True
    assert job.rows_deactivated == 0
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert "No row was imported, so no product was deactivated." in job.warnings


def test_reimport_reactivates_a_listed_product(run_import, feed_bytes, vendor):
    ProductFactory(vendor=vendor, sku="A-1", title="Chaise", description="Chêne massif", price="49.90", quantity=3, is_active=False)

    job = run_import(feed_bytes(*FEED[:2]))

    assert job.rows_updated == 1
    assert Product.objects.get(vendor=vendor, sku="A-1").is_active is True


def test_interrupted_import_rerun_converges(vendor, feed_bytes, settings, run_import):
    settings.IMPORTS_BATCH_SIZE = 2
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "PROGRESS_INTERVAL": 0.0}
    content = feed_bytes(*FEED)
    job = background_task_create(
        model=MarketplaceImportJob,
        triggered_by="manual:test",
        dispatch=False,
        vendor=vendor,
        source_file=product_import_store_feed(content=ContentFile(content)),
    )
    job = background_task_claim(model=MarketplaceImportJob, job_id=job.pk)

    class CancelledDuringBatchThree(JobProgress):
        """A staff cancel arrives just before batch 3 is written."""

        def __call__(self, percent=None, message=None, *, force=False):
            if message and message.startswith("Processing batch 3"):
                MarketplaceImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
            return super().__call__(percent, message, force=force)

    with pytest.raises(JobInterrupted):
        job.execute(CancelledDuringBatchThree(job))
    assert Product.objects.filter(vendor=vendor).count() == 4

    rerun = run_import(content)

    reference_vendor = VendorFactory(code="reference")
    run_import(content, for_vendor=reference_vendor)
    assert (rerun.rows_created, rerun.rows_unchanged, rerun.rows_rejected) == (2, 4, 1)
    strip = lambda rows: [row[:-1] for row in rows]  # noqa: E731 - timestamps differ between vendors
    assert strip(snapshot(vendor)) == strip(snapshot(reference_vendor))


def test_an_interrupted_import_leaves_no_reading_thread_behind(vendor, feed_bytes, settings):
    settings.IMPORTS_BATCH_SIZE = 1
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "PROGRESS_INTERVAL": 0.0}
    job = background_task_create(
        model=MarketplaceImportJob,
        triggered_by="manual:test",
        dispatch=False,
        vendor=vendor,
        source_file=product_import_store_feed(content=ContentFile(feed_bytes(*FEED))),
    )
    job = background_task_claim(model=MarketplaceImportJob, job_id=job.pk)
    MarketplaceImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    with pytest.raises(JobInterrupted) as interrupted:
        job.execute(JobProgress(job))

    readers = [t for t in threading.enumerate() if t.name == "product-import-reader"]
    assert interrupted.value is not None
    assert readers == []
