"""Downloading an export: staff only, streamed with the right headers, 404 unless finished and kept."""
import gzip
from datetime import timedelta

import pytest
from django.utils import timezone

from background_tasks.services import background_task_create
from exports.models import ProductExportJob
from exports.services import private_storage
from tests.factories import ProductFactory, VendorFactory

from .conftest import stored_bytes

pytestmark = pytest.mark.django_db


def url(job_id) -> str:
    return f"/api/v1/exports/products/{job_id}/download"


@pytest.fixture
def finished(run_export):
    vendor = VendorFactory(code="maison-lux")
    ProductFactory.create_batch(3, vendor=vendor)
    return run_export(vendor=vendor)


def body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("fields", "content_type", "filename"),
    [
        ({"format": "csv"}, "text/csv; charset=utf-8", "products-maison-lux-{}.csv"),
        ({"format": "xml"}, "application/xml; charset=utf-8", "products-maison-lux-{}.xml"),
        ({"format": "csv", "gzip": True}, "application/gzip", "products-maison-lux-{}.csv.gz"),
        ({"format": "xml", "gzip": True}, "application/gzip", "products-maison-lux-{}.xml.gz"),
    ],
)
def test_staff_downloads_the_file_streamed(staff_client, run_export, fields, content_type, filename):
    vendor = VendorFactory(code="maison-lux")
    ProductFactory.create_batch(2, vendor=vendor)
    job = run_export(vendor=vendor, **fields)

    response = staff_client.get(url(job.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{filename.format(job.pk)}"'
    assert int(response["Content-Length"]) == job.file_size
    assert response["X-Content-SHA256"] == job.sha256
    data = body(response)
    assert data == stored_bytes(job)
    if fields.get("gzip"):
        assert gzip.decompress(data)


def test_download_answers_with_a_trailing_slash_and_any_accept_header(staff_client, finished):
    response = staff_client.get(url(finished.pk) + "/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert body(response) == stored_bytes(finished)


def test_anonymous_gets_401(anon_client, finished):
    assert anon_client.get(url(finished.pk)).status_code == 401


def test_non_staff_gets_403(user_client, finished):
    assert user_client.get(url(finished.pk)).status_code == 403


def test_unknown_job_is_404(staff_client):
    response = staff_client.get(url(987654))

    assert response.status_code == 404
    assert "987654" in response.json()["detail"]


def test_unfinished_job_is_404(staff_client):
    pending = background_task_create(model=ProductExportJob, triggered_by="manual:t", dispatch=False)

    assert staff_client.get(url(pending.pk)).status_code == 404


def test_expired_file_is_404(staff_client, finished):
    ProductExportJob.objects.filter(pk=finished.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert staff_client.get(url(finished.pk)).status_code == 404


def test_file_missing_from_storage_is_404(staff_client, finished):
    private_storage().delete(finished.file_name)

    assert staff_client.get(url(finished.pk)).status_code == 404


def test_id_of_another_task_type_is_404(staff_client, run_on_commit):
    from wizamart.marketplace.models import SubscriptionMaintenanceRun

    other = run_on_commit(background_task_create, model=SubscriptionMaintenanceRun, triggered_by="manual:t")

    assert staff_client.get(url(other.pk)).status_code == 404


def test_the_file_is_reached_only_through_its_job(staff_client, finished):
    # The route takes an integer id only: a path from the client never reaches the storage.
    assert staff_client.get("/api/v1/exports/products/..%2F..%2Fetc%2Fpasswd/download").status_code == 404
    assert staff_client.get(f"/api/v1/exports/products/{finished.file_name}/download").status_code == 404
