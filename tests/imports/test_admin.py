"""The product import's admin: the add form triggers an import; the change page shows the results."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from tests.imports.conftest import columns_post
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/imports/marketplaceimportjob/add/"


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_add_form_shows_the_trigger_fields(admin_client):
    html = admin_client.get(ADD_URL).content.decode()

    for name in ("vendor", "marketplace", "upload", "source_url", "preset", "dry_run", "deactivate_missing"):
        assert f'name="{name}"' in html
    assert 'name="rows_total"' not in html


def test_upload_through_the_admin_runs_the_import(admin_client, vendor, django_capture_on_commit_callbacks):
    feed = SimpleUploadedFile("maison.csv", b"id,title,price\nM-1,Miroir,35 EUR\nM-2,,1 EUR\n")
    columns_url = admin_client.post(ADD_URL, {"vendor": vendor.pk, "marketplace": "letzshop", "upload": feed}).url
    confirm = columns_post(["id", "title", "price"], {"id": "id", "title": "title", "price": "price"}, "id")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(columns_url, confirm)

    assert response.status_code == 302
    job = MarketplaceImportJob.objects.get()
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert job.triggered_by.startswith("manual:")
    assert Product.objects.filter(vendor=vendor).count() == 1


def test_results_summary_shows_counts_rejected_rows_and_report(admin_client, run_import, feed_bytes):
    job = run_import(feed_bytes("id,title,price", "M-1,Miroir,35 EUR", "M-2,,1 EUR"))

    summary = admin_client.get(f"/admin/imports/marketplaceimportjob/{job.pk}/summary/").content.decode()

    assert "<tr><th>Rejected</th><td>1</td></tr>" in summary
    assert "<td>3</td><td>M-2</td><td>empty title</td>" in summary
    assert f'href="/api/v1/imports/products/{job.pk}/error-report"' in summary
    assert admin_client.get(f"/admin/imports/marketplaceimportjob/{job.pk}/change/").status_code == 200


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "Send a file (multipart) or a source_url."),
        ({"source_url": "ftp://x.example/a.csv"}, "Only http and https URLs can be imported (got &#x27;ftp&#x27;)."),
    ],
)
def test_add_form_errors(admin_client, vendor, extra, message):
    response = admin_client.post(ADD_URL, {"vendor": vendor.pk, "marketplace": "letzshop", **extra})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MarketplaceImportJob.objects.exists()
