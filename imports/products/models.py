"""The product import job: a vendor's feed (upload or URL) turned into its Product rows."""
from __future__ import annotations

from django.db import models
from django.urls import reverse

from background_tasks.models import BackgroundTask
from wizamart.marketplace.models import Vendor

REJECTED_SAMPLE_SIZE = 20


class MarketplaceImportJob(BackgroundTask):
    """One import of a vendor's product feed; re-running it converges to the same products."""

    task_type = "product_import"
    queue = "long_running"

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="import_jobs")
    marketplace = models.CharField(max_length=50, default="letzshop")
    # The uploaded feed: a generated name in the private storage, never a client path.
    source_file = models.CharField(max_length=255, blank=True, default="", editable=False)
    source_name = models.CharField(max_length=255, blank=True, default="", help_text="The uploaded file's name.")
    source_url = models.CharField(max_length=2000, blank=True, default="", help_text="An http(s) address to download the feed from.")
    dry_run = models.BooleanField(default=False, help_text="Count what would change; write no product.")
    deactivate_missing = models.BooleanField(
        default=False, help_text="The feed is the full catalogue: deactivate the vendor's products missing from it."
    )

    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # Rows that are not products of their own (a shop export's parent rows): outside rows_total.
    rows_skipped = models.PositiveIntegerField(default=0)
    # Rows whose sku an earlier row of the file had: the last one wins, they count here only.
    rows_repeated = models.PositiveIntegerField(default=0)
    rows_deactivated = models.PositiveIntegerField(default=0)
    duplicate_skus = models.PositiveIntegerField(default=0)
    rejected_sample = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    error_report = models.CharField(max_length=255, blank=True, default="", editable=False)
    file_info = models.JSONField(default=dict, blank=True, help_text="Detected encoding, delimiter and columns.")

    class Meta(BackgroundTask.Meta):
        verbose_name = "product import"

    def execute(self, progress):
        from .services import product_import_execute

        return product_import_execute(job=self, progress=progress)

    def source_display(self) -> str:
        return self.source_url or self.source_name or self.source_file

    def error_report_url(self) -> str | None:
        if not self.error_report:
            return None
        return reverse("product-import-error-report", kwargs={"job_id": self.pk})

    def get_details(self) -> dict:
        return {
            "vendor": self.vendor.code,
            "marketplace": self.marketplace,
            "source": self.source_display(),
            "dry_run": self.dry_run,
            "deactivate_missing": self.deactivate_missing,
            "rows_total": self.rows_total,
            "rows_created": self.rows_created,
            "rows_updated": self.rows_updated,
            "rows_unchanged": self.rows_unchanged,
            "rows_rejected": self.rows_rejected,
            "rows_skipped": self.rows_skipped,
            "rows_repeated": self.rows_repeated,
            "rows_deactivated": self.rows_deactivated,
            "duplicate_skus": self.duplicate_skus,
            "rejected_rows": self.rejected_sample,
            "warnings": self.warnings,
            "error_report_url": self.error_report_url(),
            "file": self.file_info,
        }
