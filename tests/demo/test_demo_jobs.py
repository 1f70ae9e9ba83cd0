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


@pytest.fixture
def demo_fake_letzshop(settings):
    """The demo's fake Letzshop API as `make run` starts it (`manage.py fake_letzshop`, its own process)."""
    import re
    import subprocess
    import sys

    from django.conf import settings as django_settings

    argv = [sys.executable, "manage.py", "fake_letzshop", "--port", "0"]
    server = subprocess.Popen(argv, cwd=django_settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    try:
        line = server.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/graphql)", line)
        assert match, f"fake_letzshop did not start: {line}"
        settings.LETZSHOP_API_URL = match.group(1)
        yield match.group(1)
    finally:
        server.kill()
        server.wait(timeout=10)


def test_the_demo_order_vendor_imports_its_orders_from_the_demo_fake_server(demo_data, demo_fake_letzshop):
    from imports.orders.letzshop.fake import demo_key
    from imports.orders.models import LetzshopHistoricalImportJob
    from wizamart.demo.management.commands.load_demo_jobs import DEMO_ORDERS_VENDOR
    from wizamart.marketplace.models import Order, Vendor

    out = load_demo_jobs()
    vendor = Vendor.objects.get(code=DEMO_ORDERS_VENDOR)
    assert vendor.letzshop_api_key == demo_key(DEMO_ORDERS_VENDOR)
    assert "demo key" in out and demo_key(DEMO_ORDERS_VENDOR) not in out

    call_command("import_orders", vendor=DEMO_ORDERS_VENDOR, wait=True, stdout=io.StringIO())

    job = LetzshopHistoricalImportJob.objects.get()
    # The fake server's defaults: 500 shipments, every 50th unusable; the demo catalogue here has 5 products.
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert (job.shipments_seen, job.orders_created, job.orders_rejected) == (500, 490, 10)
    assert job.unknown_skus > 0
    assert Order.objects.filter(vendor=vendor).count() == 490


def test_a_vendor_key_of_yours_is_kept(demo_data):
    from wizamart.demo.management.commands.load_demo_jobs import DEMO_ORDERS_VENDOR
    from wizamart.marketplace.models import Vendor

    Vendor.objects.filter(code=DEMO_ORDERS_VENDOR).update(letzshop_api_key="my-real-key")
    load_demo_jobs()
    assert Vendor.objects.get(code=DEMO_ORDERS_VENDOR).letzshop_api_key == "my-real-key"
