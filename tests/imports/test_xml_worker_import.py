"""A real Celery worker imports a Google Merchant XML feed end to end, in several batches."""
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from tests.factories import VendorFactory
from tests.fixtures.celery_worker import wait_until
from wizamart.marketplace.models import Product

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

RSS = (Path(__file__).parent / "xml" / "google-merchant-rss.xml").read_bytes()


def test_worker_imports_an_rss_feed_batch_by_batch(celery_worker_factory, staff_client, tmp_path):
    celery_worker_factory(PRIVATE_STORAGE_ROOT=str(tmp_path / "private"), IMPORTS_BATCH_SIZE="2")
    vendor = VendorFactory(code="worker-velo")

    response = staff_client.post(
        "/api/v1/imports/products",
        {"vendor": vendor.code, "file": SimpleUploadedFile("feed.xml", RSS, "application/xml")},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])

    def finished():
        job.refresh_from_db()
        return job.is_terminal()

    wait_until(finished, what=f"import #{job.pk}")
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_rejected, job.progress_percent) == (5, 4, 1, 100)
    assert job.file_info["reader"] == "python"
    assert job.rejected_sample == [{"line": 54, "sku": "VE-4004", "error": "missing price"}]
    assert Product.objects.get(vendor=vendor, sku="VE-1001").weight == "14.5 kg"
