"""POST /api/v1/imports/products: upload or URL, 202 body, field errors, upload limits, permissions."""
import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/products"
FEED = b"id,title,price\nT-1,Tasse,3 EUR\nT-2,Bol,4 EUR\n"


def upload(content=FEED, name="catalogue.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_upload_answers_202_and_imports(staff_client, vendor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(URL, {"vendor": vendor.code, "file": upload()}, format="multipart")

    assert response.status_code == 202
    body = response.json()
    job = MarketplaceImportJob.objects.get(pk=body["job_id"])
    assert body == {
        "job_id": job.pk,
        "task_type": "product_import",
        "status": TaskStatus.PENDING,
        "message": "Task queued successfully",
        "status_url": f"/api/v1/admin/background-tasks/{job.pk}",
    }
    assert job.status == TaskStatus.COMPLETED
    assert job.triggered_by.startswith("api:")
    assert Product.objects.filter(vendor=vendor).count() == 2


def test_upload_is_stored_under_a_generated_name(staff_client, vendor):
    response = staff_client.post(URL, {"vendor": vendor.code, "file": upload(name="../../etc/passwd")}, format="multipart")

    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])
    assert job.source_file.startswith("imports/feeds/") and ".." not in job.source_file
    assert job.source_name == "passwd"
    assert storages["private"].open(job.source_file).read() == FEED


def test_trailing_slash_and_options(staff_client, vendor):
    response = staff_client.post(
        URL + "/", {"vendor": vendor.code, "file": upload(), "dry_run": "true", "deactivate_missing": "true"}, format="multipart"
    )

    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])
    assert (job.dry_run, job.deactivate_missing, job.marketplace) == (True, True, "letzshop")


def test_url_source_by_json(staff_client, vendor):
    response = staff_client.post(URL, {"vendor": vendor.code, "source_url": "https://feeds.example.com/a.csv"}, format="json")

    assert response.status_code == 202
    assert MarketplaceImportJob.objects.get(pk=response.json()["job_id"]).source_url == "https://feeds.example.com/a.csv"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"vendor": "nobody", "source_url": "https://x.example/a.csv"}, "vendor", 'No vendor with code "nobody".'),
        ({"source_url": "https://x.example/a.csv"}, "vendor", "This field is required."),
        ({"vendor": "maison-lux"}, "file", "Send a file (multipart) or a source_url."),
        ({"vendor": "maison-lux", "source_url": "ftp://x.example/a.csv"}, "source_url", "Only http and https URLs can be imported (got 'ftp')."),
        ({"vendor": "maison-lux", "source_url": "file:///etc/passwd"}, "source_url", "Only http and https URLs can be imported (got 'file')."),
        ({"vendor": "maison-lux", "source_url": "http://"}, "source_url", "The URL has no host name."),
        ({"vendor": "maison-lux", "source_url": "http://user:pw@x.example/"}, "source_url", "URLs with a user name or password are not accepted."),
    ],
)
def test_bad_json_input_gets_field_errors(staff_client, vendor, data, field, message):
    response = staff_client.post(URL, data, format="json")

    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not MarketplaceImportJob.objects.exists()


def test_file_and_url_together_is_refused(staff_client, vendor):
    response = staff_client.post(
        URL, {"vendor": vendor.code, "file": upload(), "source_url": "https://x.example/a.csv"}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json() == {"file": ["Send either a file or a source_url, not both."]}


def test_empty_upload_is_refused(staff_client, vendor):
    response = staff_client.post(URL, {"vendor": vendor.code, "file": upload(b"")}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


def test_upload_over_the_limit_is_a_400_field_error(staff_client, vendor, settings):
    settings.IMPORTS_MAX_UPLOAD_SIZE = len(FEED) - 1

    response = staff_client.post(URL, {"vendor": vendor.code, "file": upload()}, format="multipart")

    assert response.status_code == 400
    assert response.json()["file"] == [f"The file is larger than the {len(FEED) - 1} bytes upload limit."]
    assert not MarketplaceImportJob.objects.exists()


def test_request_far_over_the_limit_is_refused_before_reading(staff_client, vendor, settings):
    settings.IMPORTS_MAX_UPLOAD_SIZE = 1024
    big = b"id,title,price\n" + b"B-1,Gros,1 EUR\n" * 10_000

    response = staff_client.post(URL, {"vendor": vendor.code, "file": upload(big)}, format="multipart")

    assert response.status_code == 413
    assert response.json() == {"detail": "The file is larger than the 1 KB upload limit."}


def test_anonymous_gets_401(anon_client, vendor):
    assert anon_client.post(URL, {"vendor": vendor.code, "file": upload()}, format="multipart").status_code == 401


def test_non_staff_gets_403(user_client, vendor):
    assert user_client.post(URL, {"vendor": vendor.code, "file": upload()}, format="multipart").status_code == 403
    assert not MarketplaceImportJob.objects.exists()
