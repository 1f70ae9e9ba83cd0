"""The product export job: what to export, and where the finished file is."""
from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from background_tasks.models import BackgroundTask
from background_tasks.querysets import BackgroundTaskQuerySet
from wizamart.marketplace.models import Product, Vendor


class ProductExportJobQuerySet(BackgroundTaskQuerySet):
    def with_stored_file(self):
        """Jobs whose file is still in storage."""
        return self.exclude(file_name="").filter(file_deleted_at__isnull=True)

    def downloadable(self, *, now):
        return self.succeeded().with_stored_file().filter(expires_at__gt=now)

    def with_expired_file(self, *, now):
        """Jobs whose file is past its retention and not deleted yet."""
        return self.with_stored_file().filter(expires_at__lte=now)


class ProductExportJob(BackgroundTask):
    """Export a product feed (CSV or Google Shopping XML) to a private file, downloadable until it expires."""

    task_type = "product_export"
    queue = "default"
    file_fields = ("file_name",)

    class Format(models.TextChoices):
        CSV = "csv", "CSV (Google Merchant / Letzshop columns)"
        XML = "xml", "XML (Google Shopping RSS 2.0)"

    # Exporting the catalogue of a vendor is part of its history: the vendor cannot vanish under it.
    vendor = models.ForeignKey(
        Vendor,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Leave empty to export the products of every vendor.",
    )
    format = models.CharField(max_length=3, choices=Format.choices, default=Format.CSV)
    gzip = models.BooleanField(default=False, help_text="Compress the file with gzip.")
    availability = models.CharField(
        max_length=20, choices=Product.Availability.choices, blank=True, default="", help_text="Only this availability."
    )
    updated_since = models.DateTimeField(null=True, blank=True, help_text="Only products changed since then.")

    row_count = models.PositiveIntegerField(null=True, editable=False)
    file_size = models.PositiveBigIntegerField(null=True, editable=False, help_text="Bytes, as stored.")
    sha256 = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Name of the file in the "private" storage; only the download API, given the job's id, opens it.
    file_name = models.CharField(max_length=255, blank=True, default="", editable=False)
    expires_at = models.DateTimeField(null=True, editable=False, db_index=True)
    file_deleted_at = models.DateTimeField(null=True, editable=False)
    # The XML feed's check against Google Merchant Center: per required attribute (link, image_link,
    # description), how many products lack it and a few of their ids; and the warnings said about it.
    missing_attributes = models.JSONField(default=dict, blank=True, editable=False)
    warnings = models.JSONField(default=list, blank=True, editable=False)

    objects = ProductExportJobQuerySet.as_manager()

    class Meta(BackgroundTask.Meta):
        verbose_name = "product export"

    def execute(self, progress):
        from .services import product_export_execute

        return product_export_execute(job=self, progress=progress)

    def is_downloadable(self, now=None) -> bool:
        """Whether the finished file can be downloaded now."""
        now = now or timezone.now()
        return (
            self.is_succeeded()
            and bool(self.file_name)
            and self.file_deleted_at is None
            and self.expires_at is not None
            and self.expires_at > now
        )

    @property
    def download_url(self) -> str | None:
        if not self.is_downloadable():
            return None
        return reverse("product-export-download", kwargs={"job_id": self.pk})

    @property
    def content_type(self) -> str:
        if self.gzip:
            return "application/gzip"
        return "text/csv; charset=utf-8" if self.format == self.Format.CSV else "application/xml; charset=utf-8"

    @property
    def download_name(self) -> str:
        scope = self.vendor.code if self.vendor_id else "all-vendors"
        return f"products-{scope}-{self.pk}.{self.format}" + (".gz" if self.gzip else "")

    def get_details(self) -> dict:
        return {
            "vendor": self.vendor.code if self.vendor_id else None,
            "format": self.format,
            "gzip": self.gzip,
            "filters": {
                "availability": self.availability or None,
                "updated_since": self.updated_since.isoformat() if self.updated_since else None,
            },
            "row_count": self.row_count,
            "file_size": self.file_size,
            "sha256": self.sha256 or None,
            "download_url": self.download_url,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "file_deleted": self.file_deleted_at is not None or self.files_pruned_at is not None,
            "missing_attributes": self.missing_attributes,
            "warnings": self.warnings,
        }
