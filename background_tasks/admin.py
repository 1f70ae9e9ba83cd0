"""Admin: the unified "Background tasks" page, the base admin of every job type, notifications."""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ALL_VAR, IS_FACETS_VAR, ORDER_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from rest_framework import serializers

from .failures import storage_failure
from .models import AdminNotification, BackgroundTask, RetentionPruneRun, UnifiedTask
from .registry import get_task_model, task_type_choices
from .selectors import COUNTS_CAP, COUNTS_MAX_AGE, background_tasks_service
from .serializers import BackgroundTaskSerializer
from .services import background_task_cancel, background_task_create, background_task_retry
from .status import TaskStatus

LIFECYCLE_FIELDS = (
    "id",
    "status",
    "progress_percent",
    "progress_message",
    "triggered_by",
    "created_at",
    "queued_at",
    "started_at",
    "completed_at",
    "heartbeat_at",
    "attempts",
    "cancel_requested",
    "celery_task_id",
    "error_message",
    "error_detail",
)


class CappedCountPaginator(Paginator):
    """Count at most COUNTS_CAP rows (+1, read "more than"): no full-table COUNT on a table of a million jobs."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNTS_CAP + 1].count()


def triggered_by_admin(request) -> str:
    return f"manual:{request.user.get_username()}"


class InputSerializerFormMixin:
    """A trigger form whose rules live in the type's API input serializer: the input is validated there, once.

    The form parses its fields as usual; ``clean()`` hands them to ``input_serializer_class``, shows
    its errors on the form, and keeps its validated data as ``service_kwargs`` (the create service's
    keyword arguments). A model picked in the form goes to a ``SlugRelatedField`` as its slug.
    """

    input_serializer_class: type[serializers.Serializer]
    # Form field -> serializer field, where the names differ.
    serializer_fields: ClassVar[dict[str, str]] = {}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        serializer = self.input_serializer_class(data=self.serializer_data(cleaned))
        if serializer.is_valid():
            self.service_kwargs = dict(serializer.validated_data)
            return cleaned
        form_names = {theirs: ours for ours, theirs in self.serializer_fields.items()}
        for name, errors in serializer.errors.items():
            field = form_names.get(name, name)
            self.add_error(field if field in self.fields else None, [str(error) for error in errors])
        return cleaned

    def serializer_data(self, cleaned: dict) -> dict:
        fields = self.input_serializer_class().fields
        data = {}
        for name, value in cleaned.items():
            key = self.serializer_fields.get(name, name)
            if value is None or key not in fields:
                continue
            if isinstance(fields[key], serializers.SlugRelatedField) and isinstance(value, models.Model):
                value = getattr(value, fields[key].slug_field)
            data[key] = value
        return data


def flower_link(celery_task_id: str | None):
    if not celery_task_id:
        return "—"
    url = f"{settings.FLOWER_URL.rstrip('/')}/task/{celery_task_id}"
    return format_html('<a href="{}" target="_blank" rel="noopener">Flower</a>', url)


# How each status looks: the tone names a CSS class (tasks.css) shared by lists and cards.
STATUS_TONES = {
    TaskStatus.PENDING: "waiting",
    TaskStatus.RUNNING: "active",
    TaskStatus.COMPLETED: "success",
    TaskStatus.COMPLETED_WITH_WARNINGS: "warnings",
    TaskStatus.FAILED: "failure",
    TaskStatus.CANCELLED: "stopped",
}
POLL_INTERVAL_MS = 3000
MAX_BACKOFF_MS = 30000


def progress_bar(obj) -> str:
    return format_html(
        '<progress class="bg-progress" max="100" value="{}"></progress> <span class="bg-percent">{}%</span>',
        obj.progress_percent,
        obj.progress_percent,
    )


def status_badge(obj) -> str:
    """Return the status badge; its data attributes let the page follow an active row live."""
    return format_html(
        '<span class="bg-status bg-tone-{}" data-job-id="{}" data-status="{}" data-started-at="{}">{}</span>',
        STATUS_TONES.get(obj.status, "waiting"),
        obj.pk,
        obj.status,
        obj.started_at.isoformat() if obj.started_at else "",
        TaskStatus(obj.status).label,
    )


def format_duration(obj) -> str:
    value = obj.duration
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def task_page_config(*, task_type: str = "", follow=(), discover: bool = False, summary_url: str = "") -> dict:
    """Return what the page script needs: endpoints, statuses (from TaskStatus), what to follow."""
    return {
        "taskType": task_type,
        "listUrl": reverse("background-task-list"),
        "countsUrl": reverse("background-task-counts"),
        "summaryUrl": summary_url,
        "terminal": list(TaskStatus.terminal()),
        "active": list(TaskStatus.active()),
        "statuses": {status.value: {"label": status.label, "tone": STATUS_TONES[status]} for status in TaskStatus},
        "pollInterval": POLL_INTERVAL_MS,
        "maxBackoff": MAX_BACKOFF_MS,
        "follow": [int(job_id) for job_id in follow],
        "discover": discover,
    }


def _report(modeladmin, request, done: int, skipped: int, verb: str):
    if done:
        modeladmin.message_user(request, f"{done} job{'s' if done != 1 else ''} {verb}.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request, f"{skipped} job{'s' if skipped != 1 else ''} skipped: not in a state that allows it.", messages.WARNING
        )


def _jobs_of(queryset) -> list[BackgroundTask]:
    if issubclass(queryset.model, BackgroundTask):
        return list(queryset)
    # Rows of the unified view: load each as its concrete job.
    return [job for row in queryset if (job := background_tasks_service.get_task_by_id(row.pk, row.task_type))]


@admin.action(description="Cancel selected jobs")
def cancel_jobs(modeladmin, request, queryset):
    done = skipped = 0
    for job in _jobs_of(queryset):
        if background_task_cancel(job=job, cancelled_by=request.user.get_username()):
            done += 1
        else:
            skipped += 1
    _report(modeladmin, request, done, skipped, "cancelled (running ones stop at their next step)")


@admin.action(description="Retry selected jobs")
def retry_jobs(modeladmin, request, queryset):
    done = skipped = 0
    for job in _jobs_of(queryset):
        if background_task_retry(job=job, triggered_by=triggered_by_admin(request)):
            done += 1
        else:
            skipped += 1
    _report(modeladmin, request, done, skipped, "queued again")


class JobListMixin:
    """List settings and columns shared by the unified page and every job type's list."""

    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    actions = [cancel_jobs, retry_jobs]
    search_fields = ("=id", "triggered_by", "celery_task_id")

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj):
        return status_badge(obj)

    @admin.display(description="Progress")
    def progress_display(self, obj):
        return progress_bar(obj)

    @admin.display(description="Duration")
    def duration_display(self, obj):
        return format_duration(obj)

    @admin.display(description="Flower")
    def flower_display(self, obj):
        return flower_link(obj.celery_task_id)


class BackgroundTaskAdmin(JobListMixin, admin.ModelAdmin):
    """Base admin of a job type: lifecycle read-only, the add form is the trigger."""

    list_display = ("id", "status_display", "progress_display", "progress_message", "triggered_by", "created_at", "duration_display")
    list_filter = ("status",)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # A job's inputs are fixed once it exists: everything is read-only on the change page.
        return [f.name for f in self.model._meta.fields] + ["duration_display", "flower_display"]

    def get_exclude(self, request, obj=None):
        if obj is None:
            # The trigger form: the type's inputs only; ``exclude`` names its outcome fields.
            return [*(f for f in LIFECYCLE_FIELDS if f != "id"), *(self.exclude or ())]
        return super().get_exclude(request, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        own = [f.name for f in self.model._meta.fields if f.name not in LIFECYCLE_FIELDS]
        lifecycle = [f for f in LIFECYCLE_FIELDS] + ["duration_display", "flower_display"]
        sets = []
        if own:
            sets.append((None, {"fields": own}))
        sets.append(("Lifecycle", {"fields": lifecycle}))
        return sets

    # The type's ``<type>_create(*, triggered_by, **inputs)`` service, the one the API and the
    # commands call; None: ``background_task_create`` with the form's fields.
    create_service: ClassVar[Callable[..., BackgroundTask] | None] = None

    def create_job(self, *, request, form) -> BackgroundTask:
        """Create the job from the trigger form through the type's create service."""
        inputs = form.service_kwargs if hasattr(form, "service_kwargs") else dict(form.cleaned_data)
        triggered_by = triggered_by_admin(request)
        if self.create_service is None:
            return background_task_create(model=self.model, triggered_by=triggered_by, **inputs)
        return type(self).create_service(triggered_by=triggered_by, **inputs)

    def save_model(self, request, obj, form, change):
        if change:
            return  # jobs are not edited; actions change them
        job = self.create_job(request=request, form=form)
        # The admin logs the addition and redirects with ``obj``: it becomes the created job.
        obj.pk = job.pk
        obj._state.adding = False

    # --- the task page: trigger, running indicator, status banner, results summary -------------

    change_list_template = "admin/background_tasks/task_change_list.html"
    change_form_template = "admin/background_tasks/task_change_form.html"
    summary_template = "admin/background_tasks/job_summary.html"
    # A task type shows its own results by naming one template (context: job, details, body).
    details_template = "admin/background_tasks/details_generic.html"
    trigger_label = ""

    def get_details_context(self, job: BackgroundTask, details: dict) -> dict:
        """Return extra context for ``details_template`` (override to prepare a type's summary)."""
        return {}

    def get_trigger_label(self) -> str:
        return self.trigger_label or f"Run {self.model._meta.verbose_name}"

    def _url_name(self, view: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{view}"

    def get_urls(self):
        summary = path(
            "<path:object_id>/summary/",
            self.admin_site.admin_view(self.summary_view),
            name=self._url_name("summary"),
        )
        return [summary, *super().get_urls()]

    def task_page_context(self, request, follow=(), discover=False) -> dict:
        summary_url = reverse(f"admin:{self._url_name('summary')}", args=["__id__"])
        can_trigger = self.has_add_permission(request)
        config = task_page_config(task_type=self.model.task_type, follow=follow, discover=discover, summary_url=summary_url)
        config["changeUrl"] = reverse(f"admin:{self._url_name('change')}", args=["__id__"])
        config["verboseName"] = self.model._meta.verbose_name.capitalize()
        return {
            "task_page": config,
            "trigger_url": reverse(f"admin:{self._url_name('add')}") if can_trigger else "",
            "trigger_label": self.get_trigger_label(),
        }

    def changelist_view(self, request, extra_context=None):
        context = {
            "title": capfirst(self.model._meta.verbose_name_plural),
            **self.task_page_context(request, discover=True),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def add_view(self, request, form_url="", extra_context=None):
        context = {
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            "trigger_label": self.get_trigger_label(),
            **(extra_context or {}),
        }
        return self.storing_files(request, lambda: super(BackgroundTaskAdmin, self).add_view(request, form_url, extra_context=context))

    def storing_files(self, request, store):
        """Return ``store()``; an upload that met a bucket that is down or refuses creates nothing and
        goes back to the form with the reason."""
        try:
            return store()
        except (BotoCoreError, ClientError) as exc:
            self.message_user(request, storage_failure(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def change_view(self, request, object_id, form_url="", extra_context=None):
        follow = [object_id] if str(object_id).isdigit() else []
        context = {
            # A job is changed by its actions, never by editing: no save buttons.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            **self.task_page_context(request, follow=follow),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def response_add(self, request, obj, post_url_continue=None):
        """Land back on the type's page, which follows the new job."""
        self.message_user(request, f"{self.model._meta.verbose_name.capitalize()} #{obj.pk} started.", messages.SUCCESS)
        return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}") + f"#job-{obj.pk}")

    def summary_view(self, request, object_id):
        """Render a job's results summary (the page fetches it when the job finishes)."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404(f"No {self.model._meta.verbose_name} with id {object_id}.")
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return TemplateResponse(request, self.summary_template, self.get_summary_context(request, job))

    def get_summary_context(self, request, job: BackgroundTask) -> dict:
        body = BackgroundTaskSerializer(job).data
        details = body["details"]
        return {
            "job": job,
            "body": body,
            "details": details,
            "status_label": TaskStatus(job.status).label,
            "tone": STATUS_TONES.get(job.status, "waiting"),
            "is_terminal": job.is_terminal(),
            "details_template": self.details_template,
            "change_url": reverse(f"admin:{self._url_name('change')}", args=[job.pk]),
            **self.get_details_context(job, details),
        }


class TaskTypeFilter(admin.SimpleListFilter):
    title = "task type"
    parameter_name = "task_type"

    def lookups(self, request, model_admin):
        return task_type_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(task_type=self.value())
        return queryset


@admin.register(UnifiedTask)
class UnifiedTaskAdmin(JobListMixin, admin.ModelAdmin):
    """Every job of every type on one page, newest first."""

    list_display = (
        "job_link",
        "task_type_display",
        "status_display",
        "progress_display",
        "progress_message",
        "triggered_by",
        "created_at",
        "duration_display",
        "flower_display",
    )
    list_display_links = None
    list_filter = (TaskTypeFilter, "status")
    change_list_template = "admin/background_tasks/unified_change_list.html"

    def changelist_view(self, request, extra_context=None):
        # Read before the rows: a job started between the two shows up as new rather than being missed.
        latest_id = background_tasks_service.latest_id()
        context = {
            "title": "Background tasks",
            "task_page": task_page_config(),
            "counts_table": counts_table(
                background_tasks_service.count_by_status_and_type(cap=COUNTS_CAP, max_age=COUNTS_MAX_AGE)
            ),
            **(extra_context or {}),
        }
        response = super().changelist_view(request, extra_context=context)
        cl = getattr(response, "context_data", None) and response.context_data.get("cl")
        if cl is not None:
            response.context_data["task_page"]["newJobs"] = self.new_jobs_config(cl, latest_id)
        return response

    def new_jobs_config(self, cl, latest_id: int) -> dict | None:
        """Tell the page how to look for jobs started after it loaded, and whether to insert them.

        New jobs go on top only where they belong there: the first page, newest first, filtered by
        nothing but type and status. Anywhere else the page only counts them ("N new jobs — reload").
        """
        task_type = cl.params.get(TaskTypeFilter.parameter_name, "")
        status = cl.params.get("status__exact", "")
        if (task_type and task_type not in dict(task_type_choices())) or (status and status not in TaskStatus.values):
            return None  # a filter the API would refuse: the page shows no new jobs rather than failing
        known = {TaskTypeFilter.parameter_name, "status__exact", ALL_VAR, IS_POPUP_VAR, IS_FACETS_VAR}
        insert = cl.page_num == 1 and ORDER_VAR not in cl.params and not cl.query and set(cl.params) <= known
        return {
            "after": latest_id,
            "taskType": task_type,
            "status": status,
            "insert": insert,
            "limit": cl.list_per_page,
            # Rows the first page holds: inserting on top moves the oldest on to the next page.
            "pageSize": cl.list_max_show_all if cl.show_all and cl.can_show_all else cl.list_per_page,
            "changeUrls": change_url_templates(),
            "taskTypeLabels": dict(task_type_choices()),
            "timeZone": settings.TIME_ZONE,
        }

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Needed for the actions; the rows themselves link to each job's own page.
        return request.user.is_active and request.user.is_staff

    def change_view(self, request, object_id, form_url="", extra_context=None):
        row = UnifiedTask.objects.filter(pk=object_id).first()
        url = job_admin_url(task_type=row.task_type, job_id=row.pk) if row else None
        return redirect(url or "admin:background_tasks_unifiedtask_changelist")

    @admin.display(description="Task type", ordering="task_type")
    def task_type_display(self, obj):
        return dict(task_type_choices()).get(obj.task_type, obj.task_type)

    @admin.display(description="Job", ordering="id")
    def job_link(self, obj):
        url = job_admin_url(task_type=obj.task_type, job_id=obj.pk)
        label = f"#{obj.pk}"
        return format_html('<a href="{}">{}</a>', url, label) if url else label


def count_label(count: int, cap: int = COUNTS_CAP) -> str:
    return f"{cap:,}+" if count > cap else f"{count:,}"


def counts_table(counts: dict[str, dict[str, int]]) -> dict:
    """Lay out {task_type: {status: n}} as rows of cells, with links to the filtered list."""
    changelist = reverse("admin:background_tasks_unifiedtask_changelist")
    labels = dict(task_type_choices())
    rows = []
    for task_type, by_status in counts.items():
        cells = [
            {
                "status": status.value,
                "tone": STATUS_TONES[status],
                "count": by_status.get(status.value, 0),
                "label": count_label(by_status.get(status.value, 0)),
                "url": f"{changelist}?task_type={task_type}&status__exact={status.value}",
            }
            for status in TaskStatus
        ]
        rows.append({"task_type": task_type, "label": labels.get(task_type, task_type), "cells": cells})
    return {"statuses": [{"value": s.value, "label": s.label} for s in TaskStatus], "rows": rows}


def change_url_templates() -> dict[str, str]:
    """Return {task_type: the change page URL of a job of that type, with "__id__" for its id}."""
    urls = {}
    for task_type, _label in task_type_choices():
        model = get_task_model(task_type)
        try:
            urls[task_type] = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=["__id__"])
        except NoReverseMatch:
            continue
    return urls


def job_admin_url(*, task_type: str, job_id: int) -> str | None:
    """Return the admin change page of the job ``job_id`` of type ``task_type``."""
    model = get_task_model(task_type)
    if model is None:
        return None
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[job_id])
    except NoReverseMatch:
        return None


@admin.register(AdminNotification)
class AdminNotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "level", "title", "job_link", "read_at")
    list_filter = ("level", ("read_at", admin.EmptyFieldListFilter), "task_type")
    readonly_fields = ("created_at", "level", "title", "message", "task_type", "job_id", "read_at")
    actions = ["mark_read"]
    paginator = CappedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="Job")
    def job_link(self, obj):
        if not obj.job_id:
            return "—"
        # The job's own id, not the notification's.
        url = job_admin_url(task_type=obj.task_type, job_id=obj.job_id)
        return format_html('<a href="{}">#{}</a>', url, obj.job_id) if url else f"#{obj.job_id}"

    @admin.action(description="Mark selected notifications as read")
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(request, f"{count} notification{'s' if count != 1 else ''} marked as read.", messages.SUCCESS)


@admin.register(RetentionPruneRun)
class RetentionPruneRunAdmin(BackgroundTaskAdmin):
    # The trigger form: a dry-run checkbox (schedule and tick are beat's, the summary the run's).
    exclude = ("schedule", "tick", "summary")
    trigger_label = "Prune old jobs now"
