"""The demo's jobs: one finished job of each type, made through the real services, never twice."""
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from exports.services import private_storage
from imports.products.models import MarketplaceImportJob
from wizamart.demo.management.commands.load_demo_jobs import DEMO_FEED_VENDOR, DEMO_TRIGGER
from wizamart.marketplace.models import Product, Subscription, SubscriptionMaintenanceRun

# The jobs run as in `make run`'s set-up: dispatched when their row is committed.
pytestmark = pytest.mark.django_db(transaction=True)

JOB_MODELS = (MarketplaceImportJob, ProductExportJob, SubscriptionMaintenanceRun)


@pytest.fixture
def demo_data():
    call_command("load_demo_data", products=5, stdout=io.StringIO())


def load_demo_jobs() -> str:
    out = io.StringIO()
    call_command("load_demo_jobs", stdout=out)
    return out.getvalue()


def test_demo_jobs_finish_one_of_each_type(demo_data):
    load_demo_jobs()

    imported = MarketplaceImportJob.objects.get()
    assert imported.triggered_by == DEMO_TRIGGER
    assert imported.vendor.code == DEMO_FEED_VENDOR
    assert imported.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (imported.rows_total, imported.rows_rejected) == (26, 3)
    assert [row["sku"] for row in imported.rejected_sample] == ["VEL-0114", "VEL-0115", "VEL-0116"]
    assert imported.error_report and private_storage().exists(imported.error_report)
    assert Product.objects.filter(vendor=imported.vendor, sku="VEL-0100").exists()

    exported = ProductExportJob.objects.get()
    assert exported.status == TaskStatus.COMPLETED
    assert exported.is_downloadable()
    assert exported.row_count == Product.objects.count()  # run after the import: its products are in the file

    maintenance = SubscriptionMaintenanceRun.objects.get()
    assert maintenance.status == TaskStatus.COMPLETED
    assert not Subscription.objects.ended_trials(timezone.now()).exists()


def test_running_again_adds_no_job(demo_data):
    load_demo_jobs()
    before = {model: list(model.objects.values_list("pk", flat=True)) for model in JOB_MODELS}

    out = load_demo_jobs()

    assert {model: list(model.objects.values_list("pk", flat=True)) for model in JOB_MODELS} == before
    assert out.count("exists") == len(JOB_MODELS)


def test_an_expired_demo_export_is_made_again(demo_data):
    load_demo_jobs()
    expired = ProductExportJob.objects.get()
    ProductExportJob.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    load_demo_jobs()

    fresh = ProductExportJob.objects.exclude(pk=expired.pk).get()
    assert fresh.is_downloadable()
    assert MarketplaceImportJob.objects.count() == SubscriptionMaintenanceRun.objects.count() == 1


def test_a_failed_demo_job_is_made_again(demo_data):
    load_demo_jobs()
    SubscriptionMaintenanceRun.objects.update(status=TaskStatus.FAILED, error_message="broken")

    load_demo_jobs()

    assert SubscriptionMaintenanceRun.objects.filter(status=TaskStatus.COMPLETED).count() == 1
    assert MarketplaceImportJob.objects.count() == ProductExportJob.objects.count() == 1


def test_without_the_demo_vendors_the_command_says_what_to_run_first():
    with pytest.raises(CommandError, match="run load_demo_data first"):
        load_demo_jobs()
    assert not any(model.objects.exists() for model in JOB_MODELS)
