"""An order import from an uploaded JSON file, with the private storage in an S3 bucket."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.status import TaskStatus
from imports.orders.models import LetzshopHistoricalImportJob
from wizamart.marketplace.models import Order

from .conftest import served_nodes

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/orders"


def post_file(client, content: bytes):
    upload = SimpleUploadedFile("backfill.json", content, content_type="application/json")
    return client.post(URL, {"vendor": "maison-lux", "file": upload}, format="multipart")


def test_a_json_file_is_stored_in_the_bucket_and_imported_from_it(
    s3_bucket, settings, fake_letzshop, vendor, catalogue, staff_client, run_on_commit
):
    server = fake_letzshop(shipments=30)
    nodes = served_nodes(server)
    content = json.dumps({"nodes": nodes}).encode()

    response = run_on_commit(post_file, staff_client, content)
    assert response.status_code == 202, response.content
    job = LetzshopHistoricalImportJob.objects.get(pk=response.json()["job_id"])

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.source, job.shipments_seen, job.orders_created) == ("file", 30, 30)
    assert s3_bucket.keys() == [job.source_file] and job.source_file.startswith("imports/order-files/")
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=job.source_file)["Body"].read()
    assert body == content
    assert set(Order.objects.values_list("external_id", flat=True)) == {node["id"] for node in nodes}
    assert server.requests == []
    assert not settings.PRIVATE_STORAGE_ROOT.exists()


def test_a_json_file_gone_from_the_bucket_fails_the_job_readably(
    s3_bucket, vendor, staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        job_id = post_file(staff_client, b"[]").json()["job_id"]
    job = LetzshopHistoricalImportJob.objects.get(pk=job_id)
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=job.source_file)
    for callback in callbacks:
        callback()

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "The uploaded file is no longer stored."
