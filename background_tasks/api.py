"""The unified API: list, status, cancel, retry; and the base of every trigger endpoint."""
from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from .conditional import conditional_job, conditional_list, list_filters
from .models import BackgroundTask
from .registry import task_types
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

# Job ids are PostgreSQL bigints: anything larger is not an id (and must not reach the database).
MAX_JOB_ID = 2**63 - 1


class JobIdsField(serializers.Field):
    """A comma-separated list of job ids, e.g. ``12,15,20``: distinct, at most MAX_IDS of them."""

    default_error_messages = {
        "empty": "Give at least one job id, e.g. ids=12,15.",
        "invalid": '"{value}" is not a job id: give positive whole numbers separated by commas, e.g. ids=12,15.',
        "too_many": "At most {max_ids} ids at once (got {count}).",
    }

    def to_internal_value(self, data):
        parts = [part.strip() for part in str(data).split(",") if part.strip()]
        if not parts:
            self.fail("empty")
        ids = []
        for part in parts:
            if not part.isascii() or not part.isdigit() or not 0 < int(part) <= MAX_JOB_ID:
                self.fail("invalid", value=part[:30])
            ids.append(int(part))
        ids = list(dict.fromkeys(ids))
        if len(ids) > MAX_IDS:
            self.fail("too_many", max_ids=MAX_IDS, count=len(ids))
        return ids

    def to_representation(self, value):
        return ",".join(str(job_id) for job_id in value)


def triggered_by_api(request) -> str:
    return f"api:{request.user.get_username()}"


class TaskTriggerApi(APIView):
    """Base of a task type's trigger: validate input, create the job, answer 202.

    A subclass sets ``InputSerializer`` and implements ``create_job``.
    """

    InputSerializer: type[serializers.Serializer] = serializers.Serializer

    def create_job(self, *, data: dict, triggered_by: str) -> BackgroundTask:
        raise NotImplementedError

    def get_serializer(self, *args, **kwargs):
        """Expose the input serializer to the OpenAPI schema generator."""
        return self.InputSerializer(*args, **kwargs)

    @extend_schema(responses={202: TriggerResponseSerializer})
    def post(self, request, *args, **kwargs):
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            job = self.create_job(data=serializer.validated_data, triggered_by=triggered_by_api(request))
        return Response(trigger_body(job), status=status.HTTP_202_ACCEPTED)


def get_job_or_404(job_id: int) -> BackgroundTask:
    job = background_tasks_service.get_task_by_id(int(job_id))
    if job is None:
        raise NotFound(f"No background task with id {job_id}.")
    return job


class BackgroundTaskListApi(APIView):
    """List jobs of every type, newest first.

    A page follows all its rows with one request: ``ids`` answers those jobs whatever the other
    filters say, and ``after`` adds the jobs started since (ids above it) that match the filters.
    """

    class FilterSerializer(serializers.Serializer):
        task_type = serializers.CharField(required=False)
        status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=DEFAULT_LIMIT)
        ids = JobIdsField(required=False)
        after = serializers.IntegerField(required=False, min_value=0, max_value=MAX_JOB_ID)

        def validate_task_type(self, value):
            if value not in task_types():
                raise serializers.ValidationError(
                    f'"{value}" is not a valid task type. Choose from: {", ".join(task_types())}.'
                )
            return value

    @extend_schema(
        parameters=[
            OpenApiParameter("task_type", str, enum=None, description="One task type, e.g. product_import"),
            OpenApiParameter("status", str, enum=[c for c, _ in TaskStatus.choices]),
            OpenApiParameter("limit", int, description="At most this many jobs (default 50, 1 to 1000)"),
            OpenApiParameter(
                "ids",
                str,
                description=(
                    f"Comma-separated job ids, e.g. 12,15,20 (at most {MAX_IDS}): these jobs, whatever task_type, "
                    "status and limit say; unknown ids are left out. Without `after`, only these jobs are listed."
                ),
            ),
            OpenApiParameter(
                "after",
                int,
                description=(
                    "Only jobs with a larger id, i.e. started later, matching task_type and status (up to limit). "
                    "With `ids`, the answer holds both sets, each job once."
                ),
            ),
        ],
        responses=BackgroundTaskSerializer(many=True),
    )
    @conditional_list(list_filters)
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
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


class BackgroundTaskCountsApi(APIView):
    """How many jobs of each type are in each status; a count above ``cap`` reads "more than cap"."""

    class OutputSerializer(serializers.Serializer):
        cap = serializers.IntegerField()
        counts = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        counts = background_tasks_service.count_by_status_and_type(cap=COUNTS_CAP, max_age=COUNTS_MAX_AGE)
        return Response({"cap": COUNTS_CAP, "counts": counts})


class UnreadNotificationsApi(APIView):
    """How many failure notifications are unread (the admin header polls it); above ``cap`` reads "cap+"."""

    class OutputSerializer(serializers.Serializer):
        unread = serializers.IntegerField()
        cap = serializers.IntegerField()
        label = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        unread = unread_notifications_count()
        return Response({"unread": unread, "cap": UNREAD_CAP, "label": unread_label(unread)})


class BackgroundTaskDetailApi(APIView):
    """The status of one job of any type."""

    @extend_schema(responses=BackgroundTaskSerializer)
    @conditional_job
    def get(self, request, job_id: int):
        return Response(BackgroundTaskSerializer(get_job_or_404(job_id)).data)


class BackgroundTaskCancelApi(APIView):
    """Cancel a pending job, or ask a running one to stop."""

    @extend_schema(request=None, responses=BackgroundTaskSerializer)
    def post(self, request, job_id: int):
        job = get_job_or_404(job_id)
        if not background_task_cancel(job=job, cancelled_by=request.user.get_username()):
            return Response(
                {"detail": f"Job {job.pk} is {job.status} and cannot be cancelled."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(BackgroundTaskSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BackgroundTaskRetryApi(APIView):
    """Run a failed or cancelled job again."""

    @extend_schema(request=None, responses={202: TriggerResponseSerializer})
    def post(self, request, job_id: int):
        job = get_job_or_404(job_id)
        if not background_task_retry(job=job, triggered_by=triggered_by_api(request)):
            return Response(
                {"detail": f"Job {job.pk} is {job.status}; only failed or cancelled jobs can be retried."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(trigger_body(job, "Task queued for retry"), status=status.HTTP_202_ACCEPTED)
