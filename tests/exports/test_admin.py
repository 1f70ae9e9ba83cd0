"""The product export admin: its add form starts an export; the change page links to the file."""
import pytest
from django.test import Client
from django.urls import reverse

from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from tests.factories import ProductFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def test_add_form_is_the_trigger_form(admin_client_):
    response = admin_client_.get(reverse("admin:exports_productexportjob_add"))

    assert response.status_code == 200
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"vendor", "format", "gzip", "availability", "updated_since"}


def test_submitting_the_add_form_runs_an_export(admin_client_, django_capture_on_commit_callbacks):
    vendor = VendorFactory()
    # Everything Google Merchant Center requires: the XML export has nothing to warn about.
    ProductFactory.create_batch(
        2, vendor=vendor, link="https://shop.example/p", image_link="https://shop.example/i.jpg", description="Text"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            reverse("admin:exports_productexportjob_add"),
            {"vendor": vendor.pk, "format": "xml", "gzip": "on", "availability": "", "updated_since_0": "", "updated_since_1": ""},
        )

    assert response.status_code == 302
    job = ProductExportJob.objects.get()
    assert job.triggered_by.startswith("manual:")
    assert (job.vendor, job.format, job.gzip) == (vendor, "xml", True)
    assert job.status == TaskStatus.COMPLETED
    assert job.row_count == 2


def test_change_page_links_to_the_download(admin_client_, run_export):
    vendor = VendorFactory(code="maison-lux")
    ProductFactory(vendor=vendor)
    job = run_export(vendor=vendor)

    page = admin_client_.get(reverse("admin:exports_productexportjob_change", args=[job.pk])).content.decode()
    listing = admin_client_.get(reverse("admin:exports_productexportjob_changelist")).content.decode()

    link = f'href="/api/v1/exports/products/{job.pk}/download"'
    assert link in page
    assert f"products-maison-lux-{job.pk}.csv" in page
    assert job.sha256 in page
    assert link in listing


def test_change_page_of_an_expired_export_says_so(admin_client_, run_export):
    from datetime import timedelta

    from django.utils import timezone

    from exports.services import product_exports_purge_expired

    job = run_export(vendor=VendorFactory())
    product_exports_purge_expired(now=timezone.now() + timedelta(days=30))

    page = admin_client_.get(reverse("admin:exports_productexportjob_change", args=[job.pk])).content.decode()

    assert "/download" not in page
    assert "Expired" in page


def test_results_summary_links_to_the_download(admin_client_, run_export):
    vendor = VendorFactory(code="maison-lux")
    ProductFactory.create_batch(2, vendor=vendor)
    job = run_export(vendor=vendor)

    summary = admin_client_.get(reverse("admin:exports_productexportjob_summary", args=[job.pk])).content.decode()

    assert f'href="/api/v1/exports/products/{job.pk}/download"' in summary
    assert f"Download products-maison-lux-{job.pk}.csv" in summary
    assert "2 rows" in summary
    assert job.sha256 in summary
