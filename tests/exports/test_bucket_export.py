"""Product exports with the private storage in an S3 bucket: written locally, uploaded, streamed back, purged."""
import gzip
import hashlib
import tempfile
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from background_tasks.failures import STORAGE_REFUSED
from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from exports.services import product_exports_purge_expired
from tests.factories import ProductFactory, StaffFactory, VendorFactory

from .conftest import read_feed_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_tmp(tmp_path, monkeypatch):
    """The temporary folder the export writes its partial file into, watched."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_export_is_stored_in_the_bucket_and_downloaded_by_staff(
    s3_bucket, local_tmp, settings, catalogue, run_export, staff_client, user_client, gzipped
):
    vendor, products = catalogue
    job = run_export(vendor=vendor, gzip=gzipped)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert s3_bucket.keys() == [job.file_name] and job.file_name.startswith("exports/")
    assert list(local_tmp.iterdir()) == []  # the partial file is gone once uploaded
    assert not settings.PRIVATE_STORAGE_ROOT.exists()

    url = f"/api/v1/exports/products/{job.pk}/download"
    assert user_client.get(url).status_code == 403
    response = staff_client.get(url)
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert response["Content-Length"] == str(len(data)) == str(job.file_size)
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest() == job.sha256
    rows = read_feed_csv(gzip.decompress(data) if gzipped else data)
    assert [row["gtin"] for row in rows] == sorted(p.gtin for p in products)


def test_an_export_whose_upload_fails_fails_readably_and_leaves_nothing(s3_bucket, local_tmp, catalogue, run_export):
    vendor, _ = catalogue
    s3_bucket.client.delete_bucket(Bucket=s3_bucket.name)

    job = run_export(vendor=vendor)

    assert job.status == TaskStatus.FAILED
    assert job.error_message == STORAGE_REFUSED.format(code="NoSuchBucket")
    assert job.file_name == ""
    assert list(local_tmp.iterdir()) == []


def test_expired_exports_are_deleted_from_the_bucket(s3_bucket, catalogue, run_export):
    vendor, _ = catalogue
    old, recent = run_export(vendor=vendor), run_export(vendor=vendor)
    ProductExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert product_exports_purge_expired() == 1

    assert s3_bucket.keys() == [recent.file_name]
    assert staff_download_status(old) == 404


def staff_download_status(job) -> int:
    client = APIClient()
    client.force_login(StaffFactory())
    return client.get(f"/api/v1/exports/products/{job.pk}/download").status_code


def test_a_large_export_goes_up_in_parts(s3_bucket, local_tmp, run_export):
    vendor = VendorFactory(code="big-exports")
    ProductFactory.create_batch(200, vendor=vendor, description="d" * 50_000)  # ~10 MB of CSV

    job = run_export(vendor=vendor)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=job.file_name)
    assert head["ContentLength"] == job.file_size > 8 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2")  # two 8 MB parts: a multipart upload
    assert list(local_tmp.iterdir()) == []
