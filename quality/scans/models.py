"""The code-quality scan job (one per validator) and the violations it found."""
from __future__ import annotations

from django.db import models

from background_tasks.models import BackgroundTask


class ValidatorType(models.TextChoices):
    ARCHITECTURE = "architecture", "Architecture"
    SECURITY = "security", "Security"
    PERFORMANCE = "performance", "Performance"


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class ArchitectureScan(BackgroundTask):
    """One validator run over the repository; its findings are ArchitectureViolation rows."""

    task_type = "code_quality_scan"
    queue = "long_running"

    validator_type = models.CharField(max_length=20, choices=ValidatorType.choices, db_index=True)
    total_files = models.PositiveIntegerField(default=0, editable=False)
    total_violations = models.PositiveIntegerField(default=0, editable=False)
    errors = models.PositiveIntegerField(default=0, editable=False)
    warnings = models.PositiveIntegerField(default=0, editable=False)
    infos = models.PositiveIntegerField(default=0, editable=False)
    duration_seconds = models.FloatField(null=True, blank=True, editable=False)

    class Meta(BackgroundTask.Meta):
        verbose_name = "code quality scan"

    def execute(self, progress):
        from .services import code_quality_scan_execute

        return code_quality_scan_execute(scan=self, progress=progress)

    def get_details(self) -> dict:
        return {
            "validator_type": self.validator_type,
            "total_files": self.total_files,
            "total_violations": self.total_violations,
            "errors": self.errors,
            "warnings": self.warnings,
            "infos": self.infos,
            "duration_seconds": self.duration_seconds,
            "violations_url": f"/api/v1/admin/code-quality/scans/{self.pk}/violations",
        }


class ArchitectureViolation(models.Model):
    """One finding of a scan: which rule, how bad, where (file relative to the repository root)."""

    scan = models.ForeignKey(ArchitectureScan, on_delete=models.CASCADE, related_name="violations")
    rule_id = models.CharField(max_length=40)
    rule_name = models.CharField(max_length=200, blank=True, default="")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    file = models.CharField(max_length=500)
    line = models.PositiveIntegerField(default=0)
    message = models.TextField()
    snippet = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["file", "line", "id"]
        indexes = [
            models.Index(fields=["scan", "rule_id"], name="quality_violation_scan_rule"),
            models.Index(fields=["scan", "severity"], name="quality_violation_scan_sev"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.file}:{self.line}"
