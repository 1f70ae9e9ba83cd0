"""Admin of test runs: the add form starts a run; a results page lists every test, failures first."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from background_tasks.admin import BackgroundTaskAdmin, triggered_by_admin

from .forms import TestRunForm
from .models import TestResult, TestRun
from .selectors import test_histories, test_results_failures_first
from .services import test_run_create, totals_text

RESULTS_PER_PAGE = 200


@admin.register(TestRun)
class TestRunAdmin(BackgroundTaskAdmin):
    form = TestRunForm
    list_display = (
        "id", "status_display", "progress_display", "progress_message", "selection_column",
        "tests_collected", "tests_failed", "triggered_by", "created_at", "duration_display", "results_link",
    )
    trigger_label = "Run tests"
    details_template = "admin/quality/test_runs/summary.html"
    results_template = "admin/quality/test_runs/results.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["paths_text", "keyword", "markers", "maxfail"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "results_link"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": ["results_link", *options["fields"]]}), *rest]

    def create_job(self, *, request, form) -> TestRun:
        trigger = test_run_create(triggered_by=triggered_by_admin(request), **form.service_kwargs)
        request.test_run_created = trigger.created
        return trigger.run

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "test_run_created", True):
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, f"Test run #{obj.pk} is already under way: here it is.", messages.WARNING)
        return HttpResponseRedirect(reverse(f"admin:{self._url_name('change')}", args=[obj.pk]))

    def log_addition(self, request, obj, message):
        # An existing run handed back is not an addition.
        if getattr(request, "test_run_created", True):
            return super().log_addition(request, obj, message)
        return None

    def get_details_context(self, job, details):
        return {"results_url": self.results_url(job), "totals_text": totals_text(job.totals)}

    @admin.display(description="Selection")
    def selection_column(self, obj):
        return obj.selection_display()

    @admin.display(description="Results")
    def results_link(self, obj):
        if not obj.is_terminal():
            return "—"
        return format_html('<a href="{}">Results</a>', self.results_url(obj))

    def results_url(self, run: TestRun) -> str:
        return reverse(f"admin:{self._url_name('results')}", args=[run.pk])

    def get_urls(self):
        results = path(
            "<path:object_id>/results/", self.admin_site.admin_view(self.results_view), name=self._url_name("results")
        )
        return [results, *super().get_urls()]

    def results_view(self, request, object_id):
        """Every test of a run, failures first, filtered by outcome, with durations and each test's history."""
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404(f"No test run with id {object_id}.")
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        outcome = request.GET.get("outcome") or ""
        if outcome not in TestResult.Outcome.values:
            outcome = ""
        page = Paginator(test_results_failures_first(run=run, outcome=outcome or None), RESULTS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        rows = list(page.object_list)
        histories = test_histories(node_ids=[r.node_id for r in rows], before_run=run)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Results of test run #{run.pk}",
            "run": run,
            "page": page,
            "rows": [{"result": r, "history": history_bars(histories.get(r.node_id, []))} for r in rows],
            "outcome": outcome,
            "outcomes": [(value, label, run.totals.get(value, 0)) for value, label in TestResult.Outcome.choices],
            "totals_text": totals_text(run.totals),
            "change_url": reverse(f"admin:{self._url_name('change')}", args=[run.pk]),
        }
        return TemplateResponse(request, self.results_template, context)


BAR_WIDTH = 6
BAR_GAP = 2
CHART_HEIGHT = 20


def history_bars(history: list[dict]) -> dict:
    """Lay out a test's history as bars of an SVG chart: height for duration, colour for outcome."""
    longest = max((entry["duration"] for entry in history), default=0) or 1.0
    bars = []
    for index, entry in enumerate(history):
        height = max(2, round(CHART_HEIGHT * entry["duration"] / longest))
        bars.append(
            {
                "x": index * (BAR_WIDTH + BAR_GAP),
                "y": CHART_HEIGHT - height,
                "height": height,
                "outcome": entry["outcome"],
                "title": f"run #{entry['run']}: {entry['outcome']} in {entry['duration']:.2f}s",
            }
        )
    return {"bars": bars, "width": max(1, len(bars) * (BAR_WIDTH + BAR_GAP)), "height": CHART_HEIGHT, "bar_width": BAR_WIDTH}
