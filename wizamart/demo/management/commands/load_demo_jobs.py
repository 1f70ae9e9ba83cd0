"""Run one finished job of each type the demo shows, through the services real triggers use (safe to run again)."""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from background_tasks.cli import describe_outcome, follow_job
from background_tasks.models import BackgroundTask
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from exports.services import product_export_create
from imports.orders.letzshop.fake import demo_key
from imports.products.models import MarketplaceImportJob
from imports.products.services import product_import_create
from wizamart.marketplace.models import SubscriptionMaintenanceRun, Vendor

DEMO_FEED = Path(__file__).resolve().parents[2] / "feeds" / "velo-esch-products.csv"
DEMO_FEED_VENDOR = "velo-esch"
# The vendor whose orders the demo imports from the fake Letzshop API that `make run` starts.
DEMO_ORDERS_VENDOR = "maison-lux"
# Who the demo's jobs are by: how a later run finds them instead of adding more.
DEMO_TRIGGER = "cli:demo"
WAIT_SECONDS = 300.0


def demo_import_start() -> MarketplaceImportJob:
    """Import the shipped demo feed (a few of its rows are rejected, on purpose)."""
    vendor = Vendor.objects.filter(code=DEMO_FEED_VENDOR).first()
    if vendor is None:
        raise CommandError(f"Vendor {DEMO_FEED_VENDOR!r} is missing: run load_demo_data first.")
    with DEMO_FEED.open("rb") as feed:
        return product_import_create(vendor=vendor, triggered_by=DEMO_TRIGGER, upload=File(feed, name=DEMO_FEED.name))


def demo_letzshop_key() -> str:
    """Give the demo's order vendor the fake Letzshop API's key for it, unless it has a key (yours stays)."""
    vendor = Vendor.objects.filter(code=DEMO_ORDERS_VENDOR).first()
    if vendor is None:
        raise CommandError(f"Vendor {DEMO_ORDERS_VENDOR!r} is missing: run load_demo_data first.")
    if vendor.has_letzshop_credentials():
        return f"Vendor {vendor.code} has a Letzshop API key."
    Vendor.objects.filter(pk=vendor.pk).update(letzshop_api_key=demo_key(vendor.code))
    return f"Vendor {vendor.code} has the fake Letzshop API's demo key: import its orders from the admin's Order imports page."


def demo_export_start() -> ProductExportJob:
    return product_export_create(triggered_by=DEMO_TRIGGER, format=ProductExportJob.Format.CSV)


def demo_maintenance_start() -> SubscriptionMaintenanceRun:
    return background_task_create(model=SubscriptionMaintenanceRun, triggered_by=DEMO_TRIGGER)


def demo_jobs_showing(model: type[BackgroundTask]):
    """The demo jobs of a type that still show what it does: running, or done with an outcome that stands."""
    jobs = model.objects.filter(triggered_by=DEMO_TRIGGER)
    showing = Q(status__in=TaskStatus.active())
    if model is ProductExportJob:
        # An export is shown with its download: once the file has expired, the demo makes a new one.
        return jobs.filter(showing | Q(pk__in=ProductExportJob.objects.downloadable(now=timezone.now())))
    return jobs.filter(showing | Q(status__in=TaskStatus.succeeded()))


DEMO_JOBS: list[tuple[type[BackgroundTask], Callable[[], BackgroundTask]]] = [
    (MarketplaceImportJob, demo_import_start),
    (ProductExportJob, demo_export_start),  # after the import, so that the file holds its products
    (SubscriptionMaintenanceRun, demo_maintenance_start),
]


class Command(BaseCommand):
    help = (
        "Run the demo's jobs (a product import with rejected rows, a product export, a subscription maintenance run) "
        "unless they exist, and give the demo's order vendor the fake Letzshop API's key."
    )

    def handle(self, *args, **options):
        self.stdout.write(demo_letzshop_key())
        for model, start in DEMO_JOBS:
            existing = demo_jobs_showing(model).first()
            if existing is not None:
                self.stdout.write(f"Demo {model._meta.verbose_name} exists: #{existing.pk} ({existing.get_status_display().lower()}).")
                continue
            # One line per job in the set-up's output rather than a progress bar.
            job = follow_job(start(), stdout=io.StringIO(), timeout=WAIT_SECONDS)
            if not job.is_succeeded():
                raise CommandError(describe_outcome(job))
            self.stdout.write(self.style.SUCCESS(describe_outcome(job)))
