"""The product import job: a vendor's feed (upload or URL) turned into its Product rows."""
from __future__ import annotations

import hashlib

from django.db import models
from django.urls import reverse

from background_tasks.models import BackgroundTask
from wizamart.marketplace.models import Vendor

REJECTED_SAMPLE_SIZE = 20


class MarketplaceImportJob(BackgroundTask):
    """One import of a vendor's product feed; re-running it converges to the same products."""

    task_type = "product_import"
    queue = "long_running"
    file_fields = ("source_file", "error_report")

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
    # How to read the file's columns, as the trigger asked: a preset by name, and source header ->
    # feed column on top of it ("" ignores the column). Empty: detected, or the vendor's saved mapping.
    requested_preset = models.CharField(max_length=50, blank=True, default="", help_text="The column preset asked for.")
    requested_mapping = models.JSONField(
        default=dict, blank=True, help_text="The columns asked for, on top of the preset: source header -> feed column."
    )
    # What the import applied (set once it has read the header).
    preset = models.CharField(max_length=50, blank=True, default="", help_text="The column preset (shop format) applied.")
    column_mapping = models.JSONField(
        default=dict, blank=True, help_text="Each source column and the feed column it went to (empty: not imported)."
    )

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
            "preset": self.preset or None,
            "column_mapping": self.column_mapping,
        }


def header_signature(header: list[str]) -> str:
    """A digest of a header's columns (names normalised, in order): files with the same columns share it."""
    from wizamart.marketplace.feed import normalise_header

    return hashlib.sha256("\x1f".join(normalise_header(cell) for cell in header).encode()).hexdigest()


class VendorColumnMapping(models.Model):
    """A vendor's saved column mapping: applied to its next files with the same columns."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="column_mapping")
    preset = models.CharField(max_length=50, blank=True, default="", help_text="The column preset the mapping starts from.")
    mapping = models.JSONField(
        default=dict, blank=True, help_text="The columns set by hand, on top of the preset: source header -> feed column ('' ignores it)."
    )
    header_signature = models.CharField(max_length=64, help_text="Digest of the columns of the file it was made for.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        verbose_name = "saved column mapping"

    def __str__(self) -> str:
        return f"Column mapping of {self.vendor.code}"

    def applies_to(self, header: list[str]) -> bool:
        """Whether the mapping was made for a file with these columns."""
        return self.header_signature == header_signature(header)
