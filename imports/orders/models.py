"""The order import job: a vendor's Letzshop shipments (from the API or a JSON file) turned into its orders."""
from __future__ import annotations

from django.db import models

from background_tasks.models import BackgroundTask
from wizamart.marketplace.models import Vendor

SAMPLE_SIZE = 20


class LetzshopHistoricalImportJob(BackgroundTask):
    """One import of a vendor's Letzshop orders; it commits its cursor with each page, so a re-run resumes."""

    class Source(models.TextChoices):
        API = "api", "Letzshop API"
        FILE = "file", "JSON file of shipments"

    task_type = "order_import"
    queue = "long_running"
    file_fields = ("source_file",)

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="order_import_jobs")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    # The uploaded file: a generated name in the private storage, never a client path.
    source_file = models.CharField(max_length=255, blank=True, default="", editable=False)
    source_name = models.CharField(max_length=255, blank=True, default="", help_text="The uploaded file's name.")
    since = models.DateTimeField(
        null=True, blank=True,
        help_text="Only shipments updated since then. Empty: since the vendor's last successful import.",
    )

    # Set by the run, committed with each page: where a re-run goes on from.
    since_used = models.DateTimeField(null=True, blank=True, editable=False)
    cursor = models.CharField(max_length=500, blank=True, default="", editable=False)
    latest_update_seen = models.DateTimeField(null=True, blank=True, editable=False)
    total_estimate = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    shipments_seen = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    orders_unchanged = models.PositiveIntegerField(default=0)
    orders_rejected = models.PositiveIntegerField(default=0)
    items_written = models.PositiveIntegerField(default=0)
    unknown_skus = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    rate_limit_wait_seconds = models.FloatField(default=0.0)
    rejected_sample = models.JSONField(default=list, blank=True)
    unknown_sku_sample = models.JSONField(default=list, blank=True)

    class Meta(BackgroundTask.Meta):
        verbose_name = "order import"

    def execute(self, progress):
        from .services import order_import_execute

        return order_import_execute(job=self, progress=progress)

    def source_display(self) -> str:
        return self.source_name if self.source == self.Source.FILE else self.get_source_display()

    def get_details(self) -> dict:
        return {
            "vendor": self.vendor.code,
            "source": self.source,
            "source_name": self.source_name,
            "since": self.since.isoformat() if self.since else None,
            "since_used": self.since_used.isoformat() if self.since_used else None,
            "cursor": self.cursor or None,
            "latest_update_seen": self.latest_update_seen.isoformat() if self.latest_update_seen else None,
            "total_estimate": self.total_estimate,
            "pages_fetched": self.pages_fetched,
            "shipments_seen": self.shipments_seen,
            "orders_created": self.orders_created,
            "orders_updated": self.orders_updated,
            "orders_unchanged": self.orders_unchanged,
            "orders_rejected": self.orders_rejected,
            "items_written": self.items_written,
            "unknown_skus": self.unknown_skus,
            "retries": self.retries,
            "rate_limit_wait_seconds": round(self.rate_limit_wait_seconds, 1),
            "rejected_shipments": self.rejected_sample,
            "unknown_sku_examples": self.unknown_sku_sample,
        }
