"""Product imports with the private storage in an S3 bucket: upload, COPY and portable reads, the error report."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.failures import STORAGE_DOWN
from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/products"
FEED = (
    b"id,title,description,price,availability\n"
    b"B-1,Tasse,Une tasse,3 EUR,in stock\n"
    b"B-2,Bol,,not a price,in stock\n"
    b"B-3,Assiette,=1+1,4.50 EUR,out of stock\n"
)


def post_feed(client, vendor, content: bytes, name="catalogue.csv"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(URL, {"vendor": vendor.code, "file": upload}, format="multipart")


def test_an_uploaded_feed_is_imported_from_the_bucket(s3_bucket, write_path, settings, staff_client, vendor, run_on_commit):
    response = run_on_commit(post_feed, staff_client, vendor, FEED)
    assert response.status_code == 202, response.content
    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert job.file_info["reader"] == ("postgresql" if write_path == "copy" else "python")
    assert (job.rows_total, job.rows_created, job.rows_rejected) == (3, 2, 1)
    assert set(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == {"B-1", "B-3"}
    assert s3_bucket.keys() == sorted([job.source_file, job.error_report])
    assert job.source_file.startswith("imports/feeds/") and job.error_report.startswith("imports/error-reports/")
    assert not settings.PRIVATE_STORAGE_ROOT.exists()  # nothing went to a local folder


def test_the_error_report_is_downloaded_from_the_bucket_by_staff_only(
    s3_bucket, staff_client, clerk_client, user_client, anon_client, vendor, run_on_commit
):
    job = MarketplaceImportJob.objects.get(pk=run_on_commit(post_feed, staff_client, vendor, FEED).json()["job_id"])
    url = f"{URL}/{job.pk}/error-report"

    assert anon_client.get(url).status_code == 401
    assert user_client.get(url).status_code == 403
    response = clerk_client.get(url)

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="product-import-{job.pk}-errors.csv"'
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Length"] == str(len(body.encode("utf-8-sig")))
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["id", "title", "description", "price", "availability", "error"]
    assert rows[1][0] == "B-2" and "price" in rows[1][-1]


def test_an_error_report_gone_from_the_bucket_is_a_404(s3_bucket, staff_client, vendor, run_on_commit):
    job = MarketplaceImportJob.objects.get(pk=run_on_commit(post_feed, staff_client, vendor, FEED).json()["job_id"])
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=job.error_report)

    response = staff_client.get(f"{URL}/{job.pk}/error-report")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Product import {job.pk} has no error report."}


def test_a_feed_gone_from_the_bucket_fails_the_job_readably(s3_bucket, staff_client, vendor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        job_id = post_feed(staff_client, vendor, FEED).json()["job_id"]
    job = MarketplaceImportJob.objects.get(pk=job_id)
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=job.source_file)
    for callback in callbacks:
        callback()

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "The uploaded feed file is no longer available; upload it again."


def test_a_large_upload_goes_to_the_bucket_in_parts_and_imports(s3_bucket, write_path, staff_client, vendor, run_on_commit):
    # ~10 MB in 200 rows: spooled to disk by the upload handler, uploaded in 8 MB parts, read as a stream.
    lines = [f"L-{n},Article {n},{'x' * 50_000},{n}.50 EUR,in stock" for n in range(200)]
    content = ("id,title,description,price,availability\n" + "\n".join(lines) + "\n").encode()
    response = run_on_commit(post_feed, staff_client, vendor, content)
    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created) == (200, 200)
    assert job.file_info["reader"] == ("postgresql" if write_path == "copy" else "python")
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=job.source_file)
    assert head["ContentLength"] == len(content) and head["ETag"].strip('"').endswith("-2")
    assert Product.objects.get(vendor=vendor, sku="L-199").description == "x" * 50_000


def test_an_upload_to_a_bucket_that_is_down_answers_503(s3_bucket, settings, staff_client, vendor):
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.STORAGES = {**settings.STORAGES}  # a new storage object reads the endpoint

    response = post_feed(staff_client, vendor, FEED)

    assert response.status_code == 503
    assert response.json() == {"detail": STORAGE_DOWN}
    assert not MarketplaceImportJob.objects.exists()


def test_an_admin_upload_to_a_bucket_that_is_down_says_so_on_the_form(s3_bucket, settings, client, staff_user, vendor):
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.STORAGES = {**settings.STORAGES}
    client.force_login(staff_user)
    add_url = "/admin/imports/marketplaceimportjob/add/"
    feed = SimpleUploadedFile("feed.csv", FEED, content_type="text/csv")

    response = client.post(add_url, {"vendor": vendor.pk, "marketplace": "letzshop", "upload": feed}, follow=True)

    assert response.redirect_chain == [(add_url, 302)]
    assert [str(message) for message in response.context["messages"]] == [STORAGE_DOWN]
    assert not MarketplaceImportJob.objects.exists()
