"""Admin of the code-quality scans: the job pages every type has, and the "Code quality" dashboard."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import path, reverse

from background_tasks.admin import BackgroundTaskAdmin, InputSerializerFormMixin

from .api import ScanInputSerializer
from .dashboard import chart_context, dashboard_config, latest_context
from .models import ArchitectureScan
from .services import code_quality_scan_create

# Rules listed in a scan's results summary (the dashboard groups them all).
SUMMARY_RULES = 8
OUTCOME_FIELDS = ("total_files", "total_violations", "errors", "warnings", "infos", "duration_seconds")


class ScanForm(InputSerializerFormMixin, forms.ModelForm):
    """The trigger form of one scan; its rules are the API's (ScanInputSerializer)."""

    input_serializer_class = ScanInputSerializer

    class Meta:
        model = ArchitectureScan
        fields = ("validator_type",)


@admin.register(ArchitectureScan)
class ArchitectureScanAdmin(BackgroundTaskAdmin):
    form = ScanForm
    list_display = (
        "id", "validator_type", "status_display", "progress_display", "progress_message", "errors", "warnings", "infos",
        "created_at", "duration_display", "flower_display",
    )
    list_filter = ("status", "validator_type")
    exclude = OUTCOME_FIELDS
    trigger_label = "Run a scan"
    create_service = staticmethod(code_quality_scan_create)
    change_list_template = "admin/quality/scans/scan_change_list.html"
    details_template = "admin/quality/scans/scan_summary.html"

    def get_details_context(self, job, details):
        """The results summary lists the scan's rules, most violations first."""
        rules = job.violations.values("rule_id", "severity").annotate(count=Count("id")).order_by("-count", "rule_id")
        return {"rules": list(rules[:SUMMARY_RULES]), "dashboard_url": reverse("admin:quality_code_quality_dashboard")}

    def get_urls(self):
        dashboard = path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="quality_code_quality_dashboard")
        return [dashboard, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        context = {"dashboard_url": reverse("admin:quality_code_quality_dashboard"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def dashboard_view(self, request):
        """The "Code quality" page: run all scans, follow them, read the latest findings and the history."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Code quality",
            "opts": self.model._meta,
            "config": dashboard_config(),
            "can_trigger": self.has_add_permission(request),
            "sections": latest_context(),
            "charts": chart_context(),
            "changelist_url": reverse("admin:quality_architecturescan_changelist"),
        }
        return TemplateResponse(request, "admin/quality/scans/dashboard.html", context)
