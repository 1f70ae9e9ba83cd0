"""The unified API: the BackgroundTaskViewSet, and TaskTriggerViewSet, the base of every trigger."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from .conditional import conditional_job, conditional_list, list_filters
from .models import BackgroundTask
from .registry import task_types
from .schema import MAX_JOB_ID, MAX_LIST_LIMIT, TaskApiSchema, error_responses
from .selectors import (
    COUNTS_CAP,
    COUNTS_MAX_AGE,
    DEFAULT_LIMIT,
    MAX_IDS,
    UNREAD_CAP,
    background_tasks_service,
    newest_first,
    unread_label,
    unread_notifications_count,
)
from .serializers import BackgroundTaskSerializer, TriggerResponseSerializer, trigger_body
from .services import background_task_cancel, background_task_retry
from .status import TaskStatus

# Every job route names its id ``job_id`` and takes digits only.
JOB_ID_KWARG = "job_id"
JOB_ID_REGEX = "[0-9]+"


class JobIdsField(serializers.Field):
    """A comma-separated list of job ids, e.g. ``12,15,20``: at most MAX_IDS of them, repeats answered once."""

    default_error_messages = {
        "empty": "Give at least one job id, e.g. ids=12,15.",
        "invalid": '"{value}" is not a job id: give positive whole numbers separated by commas, e.g. ids=12,15.',
        "too_many": "At most {max_ids} ids at once (got {count}).",
    }

    def to_internal_value(self, data):
        parts = [part.strip() for part in str(data).split(",") if part.strip()]
        if not parts:
            self.fail("empty")
        # Counted as sent (repeats included), as the schema's maxItems says.
        if len(parts) > MAX_IDS:
            self.fail("too_many", max_ids=MAX_IDS, count=len(parts))
        ids = []
        for part in parts:
            if not part.isascii() or not part.isdigit() or not 0 < int(part) <= MAX_JOB_ID:
                self.fail("invalid", value=part[:30])
            ids.append(int(part))
        return list(dict.fromkeys(ids))

    def to_representation(self, value):
        return ",".join(str(job_id) for job_id in value)


def triggered_by_api(request) -> str:
    return f"api:{request.user.get_username()}"


def get_job_or_404(job_id: int | str) -> BackgroundTask:
    job = background_tasks_service.get_task_by_id(int(job_id)) if 0 < int(job_id) <= MAX_JOB_ID else None
    if job is None:
        raise NotFound(f"No background task with id {job_id}.")
    return job


class RequestTooLarge(APIException):
    """413: the request body is over a limit (raised before the body is read)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class LengthRequired(APIException):
    """411: a body sent without a Content-Length (chunked), which the server cannot read."""

    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = (
        "A request body needs a Content-Length header: send the upload without chunked transfer encoding."
    )
    default_code = "length_required"


def refuse_chunked_body(request) -> None:
    """Raise LengthRequired for a chunked body: WSGI hands Django no length, so it would read an empty body."""
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH"):
        raise LengthRequired()


class TaskTriggerViewSet(GenericViewSet):
    """Base of every task type's trigger: ``POST <prefix>`` validates the input, creates the job, answers 202.

    Recipe for a new task type (its model, e.g. ``TestRun``, and its create service exist):

    1. In ``<app>/serializers.py``, one input serializer, a ``TaskInputSerializer``
       (``background_tasks.serializers``: values of the type the schema gives them) with a name
       of its own (it names the OpenAPI component), e.g. ``TestRunInputSerializer``. Its
       validated data are the create service's keyword arguments (``source=`` renames a field).
       It is the only place the input is validated: the admin's trigger form validates through
       it too (``background_tasks.admin.InputSerializerFormMixin``).
    2. In ``<app>/api.py``, subclass and set three class attributes::

           class TestRunViewSet(TaskTriggerViewSet):
               \"\"\"Start a test run.\"\"\"   # the OpenAPI description

               model = TestRun
               input_serializer_class = TestRunInputSerializer   # None: the POST takes no body
               create_service = staticmethod(test_run_create)

       ``create_service`` is the type's ``<type>_create(*, triggered_by, **validated_data)``
       service, the one the admin and the management commands call too. It runs inside a
       transaction; the job is dispatched once it commits.
       Optional: ``parser_classes`` (e.g. multipart for uploads); ``get_service_kwargs()`` to
       add keyword arguments that do not come from the body; ``@action(detail=True, ...)``
       methods for the job's own resources (``self.get_job()`` finds the job or answers 404),
       e.g. a download at ``<prefix>/<job_id>/download``; ``@extend_schema_view(create=...)``
       to document more (another media type, a 413).
    3. In ``<app>/urls.py``, register it on a ``background_tasks.routers.TaskApiRouter`` (every
       path answers with and without a trailing slash)::

           router = TaskApiRouter()
           router.register("api/v1/quality/test-runs", TestRunViewSet, basename="test-run")
           urlpatterns = router.urls

       and include the app's urls from the project's urls. The trigger answers 202 with
       ``{job_id, task_type, status, message, status_url}``; bad input answers 400 with field
       errors; the job then shows in ``/api/v1/admin/background-tasks``. The type's admin sets
       the same ``create_service`` (``BackgroundTaskAdmin.create_service``).
    """

    model: ClassVar[type[BackgroundTask]]
    input_serializer_class: ClassVar[type[serializers.Serializer] | None] = None
    create_service: ClassVar[Callable[..., BackgroundTask]]
    lookup_url_kwarg = JOB_ID_KWARG
    lookup_value_regex = JOB_ID_REGEX
    schema = TaskApiSchema()

    def get_queryset(self):
        return self.model._default_manager.all()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action == "create":
            refuse_chunked_body(request)

    def get_serializer_class(self):
        return self.input_serializer_class or serializers.Serializer

    def get_service_kwargs(self, validated_data: dict) -> dict[str, Any]:
        """The create service's keyword arguments besides ``triggered_by``: the validated input."""
        return dict(validated_data)

    def get_job(self) -> BackgroundTask:
        """The job of this type named by the URL's ``job_id``, or a 404 naming it."""
        job_id = self.kwargs[self.lookup_url_kwarg]
        job = self.get_queryset().filter(pk=job_id).first() if 0 < int(job_id) <= MAX_JOB_ID else None
        if job is None:
            raise NotFound(f"No {self.model._meta.verbose_name} with id {job_id}.")
        return job

    @extend_schema(responses={202: TriggerResponseSerializer, **error_responses(400, 401, 403, 411)})
    def create(self, request, *args, **kwargs):
        data: dict = {}
        if self.input_serializer_class is not None:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        with transaction.atomic():
            job = type(self).create_service(triggered_by=triggered_by_api(request), **self.get_service_kwargs(data))
        return Response(trigger_body(job), status=status.HTTP_202_ACCEPTED)


class BackgroundTaskFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    task_type = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIST_LIMIT, default=DEFAULT_LIMIT)
    ids = JobIdsField(required=False)
    after = serializers.IntegerField(required=False, min_value=0, max_value=MAX_JOB_ID)

    def validate_task_type(self, value):
        if value not in task_types():
            raise serializers.ValidationError(f'"{value}" is not a valid task type. Choose from: {", ".join(task_types())}.')
        return value


class BackgroundTaskCountsSerializer(serializers.Serializer):
    cap = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


class UnreadNotificationsSerializer(serializers.Serializer):
    unread = serializers.IntegerField()
    cap = serializers.IntegerField()
    label = serializers.CharField()


class BackgroundTaskViewSet(GenericViewSet):
    """Jobs of every type: list, status, cancel, retry, counts, and the unread failure notifications."""

    serializer_class = BackgroundTaskSerializer
    lookup_url_kwarg = JOB_ID_KWARG
    lookup_value_regex = JOB_ID_REGEX
    filter_serializer_class = BackgroundTaskFilterSerializer
    schema = TaskApiSchema()

    @extend_schema(responses={200: BackgroundTaskSerializer(many=True), **error_responses(400, 401, 403)})
    @conditional_list(list_filters)
    def list(self, request):
        """List jobs of every type, newest first.

        A page follows all its rows with one request: ``ids`` answers those jobs whatever the other
        filters say, and ``after`` adds the jobs started since (ids above it) that match the filters.
        """
        filters = self.filter_serializer_class(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        ids = params.pop("ids", None)
        if ids is None:
            jobs = background_tasks_service.get_tasks(**params)
        else:
            jobs = background_tasks_service.get_tasks_by_ids(ids)
            if "after" in params:
                known = set(ids)
                newer = [job for job in background_tasks_service.get_tasks(**params) if job.pk not in known]
                jobs = newest_first([*jobs, *newer])
        return Response(BackgroundTaskSerializer(jobs, many=True).data)

    @extend_schema(responses={200: BackgroundTaskSerializer, **error_responses(401, 403, 404)})
    @conditional_job
    def retrieve(self, request, job_id: int):
        """The status of one job of any type."""
        return Response(BackgroundTaskSerializer(get_job_or_404(job_id)).data)

    @extend_schema(request=None, responses={202: BackgroundTaskSerializer, **error_responses(401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, job_id: int):
        """Cancel a pending job, or ask a running one to stop."""
        job = get_job_or_404(job_id)
        if not background_task_cancel(job=job, cancelled_by=request.user.get_username()):
            return Response(
                {"detail": f"Job {job.pk} is {job.status} and cannot be cancelled."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(BackgroundTaskSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: TriggerResponseSerializer, **error_responses(401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def retry(self, request, job_id: int):
        """Run a failed or cancelled job again."""
        job = get_job_or_404(job_id)
        if not background_task_retry(job=job, triggered_by=triggered_by_api(request)):
            if job.status in TaskStatus.retryable():
                detail = f"Job {job.pk} cannot run again now: another {job._meta.verbose_name} is already active."
            else:
                detail = f"Job {job.pk} is {job.status}; only failed or cancelled jobs can be retried."
            return Response({"detail": detail}, status=status.HTTP_409_CONFLICT)
        return Response(trigger_body(job, "Task queued for retry"), status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: BackgroundTaskCountsSerializer, **error_responses(401, 403)})
    @action(detail=False, methods=["get"])
    def counts(self, request):
        """How many jobs of each type are in each status; a count above ``cap`` reads "more than cap"."""
        counts = background_tasks_service.count_by_status_and_type(cap=COUNTS_CAP, max_age=COUNTS_MAX_AGE)
        return Response({"cap": COUNTS_CAP, "counts": counts})

    # Not an @action: its path is under /notifications, so background_tasks/urls.py routes it.
    @extend_schema(responses={200: UnreadNotificationsSerializer, **error_responses(401, 403)})
    def unread_count(self, request):
        """How many failure notifications are unread (the admin header polls it); above ``cap`` reads "cap+"."""
        unread = unread_notifications_count()
        return Response({"unread": unread, "cap": UNREAD_CAP, "label": unread_label(unread)})
