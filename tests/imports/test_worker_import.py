"""A real Celery worker imports an uploaded feed end to end, PostgreSQL reading it on two connections."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from tests.factories import VendorFactory
from tests.fixtures.celery_worker import wait_until
from wizamart.marketplace.models import Product

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

URL = "/api/v1/imports/products"
LINES = [f"W-{n},Article {n},{n}.25 EUR,{n},in stock" for n in range(1, 12)]


def feed(lines) -> SimpleUploadedFile:
    return SimpleUploadedFile("feed.csv", ("id,title,price,quantity,availability\n" + "\n".join(lines) + "\n").encode())


def imported(staff_client, vendor, lines) -> MarketplaceImportJob:
    response = staff_client.post(URL, {"vendor": vendor.code, "file": feed(lines)}, format="multipart")
    assert response.status_code == 202, response.content
    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])

    def finished():
        job.refresh_from_db()
        return job.is_terminal()

    wait_until(finished, what=f"import #{job.pk}")
    return job


def test_worker_imports_then_reimports_writing_only_the_changed_row(celery_worker_factory, staff_client, tmp_path):
    # The worker reads uploads where this test stores them; its batches of 3 alternate between
    # its two connections (a worker's job runs outside any transaction).
    celery_worker_factory(PRIVATE_STORAGE_ROOT=str(tmp_path / "private"), IMPORTS_BATCH_SIZE="3")
    vendor = VendorFactory(code="worker-maison")

    first = imported(staff_client, vendor, LINES)
    assert first.status == TaskStatus.COMPLETED, first.error_message
    assert first.file_info["reader"] == "postgresql"
    assert (first.rows_total, first.rows_created, first.progress_percent) == (11, 11, 100)
    stamps = dict(Product.objects.filter(vendor=vendor).values_list("sku", "updated_at"))
    assert len(stamps) == 11

    changed = [line.replace("Article 7", "Article sept") for line in LINES]
    again = imported(staff_client, vendor, changed)
    assert again.status == TaskStatus.COMPLETED, again.error_message
    assert (again.rows_total, again.rows_created, again.rows_updated, again.rows_unchanged) == (11, 0, 1, 10)
    after = dict(Product.objects.filter(vendor=vendor).values_list("sku", "updated_at"))
    assert [sku for sku in after if after[sku] != stamps[sku]] == ["W-7"]
    assert Product.objects.get(vendor=vendor, sku="W-7").title == "Article sept"
