"""POST /api/v1/exports/products: the seed's 202 body, or 400 with field errors."""
import pytest

from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from tests.factories import ProductFactory, VendorFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/exports/products"


def test_trigger_answers_202_and_the_export_runs(staff_client, django_capture_on_commit_callbacks):
    vendor = VendorFactory(code="maison-lux")
    # Everything Google Merchant Center requires: the XML export has nothing to warn about.
    ProductFactory.create_batch(
        2, vendor=vendor, link="https://shop.example/p", image_link="https://shop.example/i.jpg", description="Text"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            URL,
            {"vendor": "maison-lux", "format": "xml", "gzip": True, "availability": "in_stock", "updated_since": "2020-01-01"},
            format="json",
        )

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "task_type", "status", "message", "status_url"}
    assert body["task_type"] == "product_export"
    assert body["status"] == TaskStatus.PENDING
    assert body["status_url"] == f"/api/v1/admin/background-tasks/{body['job_id']}"
    job = ProductExportJob.objects.get(pk=body["job_id"])
    assert (job.vendor, job.format, job.gzip, job.availability) == (vendor, "xml", True, "in_stock")
    assert job.updated_since.year == 2020
    assert job.status == TaskStatus.COMPLETED
    assert job.row_count == 2
    assert job.triggered_by.startswith("api:")


def test_defaults_export_every_vendor_as_csv(staff_client):
    response = staff_client.post(URL + "/", {}, format="json")

    assert response.status_code == 202
    job = ProductExportJob.objects.get(pk=response.json()["job_id"])
    assert (job.vendor, job.format, job.gzip, job.availability, job.updated_since) == (None, "csv", False, "", None)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"vendor": "nobody"}, "vendor"),
        ({"format": "xlsx"}, "format"),
        ({"gzip": "maybe"}, "gzip"),
        ({"availability": "sold"}, "availability"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-13-45"}, "updated_since"),
    ],
)
def test_bad_input_is_400_with_field_errors_and_no_job(staff_client, payload, field):
    response = staff_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not ProductExportJob.objects.exists()


def test_non_staff_cannot_trigger(user_client, anon_client):
    assert anon_client.post(URL, {}, format="json").status_code == 401
    assert user_client.post(URL, {}, format="json").status_code == 403
    assert not ProductExportJob.objects.exists()
