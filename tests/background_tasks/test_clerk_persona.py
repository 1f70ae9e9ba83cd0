"""A staff clerk who is not a superuser (view/add/change of the job models only) uses the API and the admin."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from imports.models import MarketplaceImportJob
from tests.factories import LimitedStaffFactory, ProductFactory, VendorFactory
from tests.imports.conftest import columns_post
from tests.testapp.models import DemoJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = pytest.mark.django_db

FEED = b"id,title,price\nC-1,Chaise,40 EUR\n"


@pytest.fixture
def vendor():
    vendor = VendorFactory(code="clerk-shop")
    ProductFactory(vendor=vendor)
    return vendor


def test_the_clerk_is_staff_but_no_superuser(clerk_user):
    assert clerk_user.is_staff and not clerk_user.is_superuser
    assert clerk_user.has_perm("imports.add_marketplaceimportjob")
    assert not clerk_user.has_perm("imports.delete_marketplaceimportjob")


@pytest.mark.parametrize(
    ("path", "body", "fmt", "model"),
    [
        ("/api/v1/imports/products", "upload", "multipart", MarketplaceImportJob),
        ("/api/v1/exports/products", {"format": "csv"}, "json", ProductExportJob),
        ("/api/v1/marketplace/subscription-maintenance", None, None, SubscriptionMaintenanceRun),
    ],
)
def test_clerk_triggers_every_type_through_the_api(clerk_client, clerk_user, vendor, path, body, fmt, model):
    if body == "upload":
        body = {"vendor": vendor.code, "file": SimpleUploadedFile("feed.csv", FEED)}

    response = clerk_client.post(path, body, format=fmt)

    assert response.status_code == 202, response.content
    job = model.objects.get(pk=response.json()["job_id"])
    assert job.triggered_by == f"api:{clerk_user.username}"
    status = clerk_client.get(response.json()["status_url"])
    assert status.status_code == 200
    assert status.json()["id"] == job.pk


def test_clerk_lists_cancels_and_retries(clerk_client):
    pending = background_task_create(model=DemoJob, triggered_by="manual:t")

    listed = clerk_client.get("/api/v1/admin/background-tasks")
    cancelled = clerk_client.post(f"/api/v1/admin/background-tasks/{pending.pk}/cancel")
    retried = clerk_client.post(f"/api/v1/admin/background-tasks/{pending.pk}/retry")

    assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [pending.pk]
    assert cancelled.status_code == 202 and cancelled.json()["status"] == TaskStatus.CANCELLED
    assert retried.status_code == 202 and retried.json()["status"] == TaskStatus.PENDING
    assert clerk_client.get("/api/v1/admin/background-tasks/counts").status_code == 200
    assert clerk_client.get("/api/v1/admin/notifications/unread-count").status_code == 200


def test_clerk_triggers_an_import_from_the_admin(clerk_client, clerk_user, vendor, django_capture_on_commit_callbacks):
    add_url = reverse("admin:imports_marketplaceimportjob_add")
    assert clerk_client.get(add_url).status_code == 200

    columns = clerk_client.post(
        add_url, {"vendor": vendor.pk, "marketplace": "letzshop", "upload": SimpleUploadedFile("f.csv", FEED)}
    )
    assert clerk_client.get(columns.url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(columns.url, columns_post(["id", "title", "price"], {"title": "title", "price": "price"}, "id"))

    assert response.status_code == 302
    job = MarketplaceImportJob.objects.get()
    assert job.triggered_by == f"manual:{clerk_user.username}"
    assert job.source_name == "f.csv"
    assert job.status == TaskStatus.COMPLETED


def test_clerk_triggers_an_export_and_maintenance_from_the_admin(clerk_client, vendor):
    export = clerk_client.post(reverse("admin:exports_productexportjob_add"), {"vendor": vendor.pk, "format": "csv"})
    maintenance = clerk_client.post(reverse("admin:marketplace_subscriptionmaintenancerun_add"), {})

    assert export.status_code == 302 and maintenance.status_code == 302
    assert ProductExportJob.objects.get().vendor == vendor
    assert SubscriptionMaintenanceRun.objects.count() == 1


def test_clerk_sees_the_task_pages(clerk_client):
    job = background_task_create(model=DemoJob, triggered_by="manual:t")

    for url in (
        reverse("admin:background_tasks_unifiedtask_changelist"),
        reverse("admin:imports_marketplaceimportjob_changelist"),
        reverse("admin:testapp_demojob_change", args=[job.pk]),
        reverse("admin:testapp_demojob_summary", args=[job.pk]),
        reverse("admin:background_tasks_adminnotification_changelist"),
    ):
        assert clerk_client.get(url).status_code == 200, url


def test_staff_without_the_add_permission_cannot_trigger_from_the_admin(client, vendor):
    client.force_login(LimitedStaffFactory(permissions=["view_marketplaceimportjob"]))
    add_url = reverse("admin:imports_marketplaceimportjob_add")

    response = client.post(add_url, {"vendor": vendor.pk, "marketplace": "letzshop", "upload": SimpleUploadedFile("f.csv", FEED)})

    assert response.status_code == 403
    assert not MarketplaceImportJob.objects.exists()
