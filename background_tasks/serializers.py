"""The shared output shapes: trigger answer, status body."""
from django.urls import reverse
from rest_framework import serializers

from .models import BackgroundTask


def status_url(job: BackgroundTask) -> str:
    return reverse("background-task-detail", kwargs={"job_id": job.pk})


def trigger_body(job: BackgroundTask, message: str = "Task queued successfully") -> dict:
    """Return the seed's 202 body for a job just created or re-queued."""
    return {
        "job_id": job.pk,
        "task_type": job.task_type,
        "status": job.status,
        "message": message,
        "status_url": status_url(job),
    }


class BackgroundTaskSerializer(serializers.Serializer):
    """The status body of any job: standard fields plus the type's own ``details``."""

    id = serializers.IntegerField()
    task_type = serializers.CharField()
    status = serializers.CharField()
    progress_percent = serializers.IntegerField()
    progress_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    triggered_by = serializers.CharField()
    error_message = serializers.CharField(allow_null=True)
    details = serializers.SerializerMethodField()

    def get_details(self, job: BackgroundTask) -> dict:
        return job.get_details()


class TriggerResponseSerializer(serializers.Serializer):
    """Documents the 202 body (for the OpenAPI schema)."""

    job_id = serializers.IntegerField()
    task_type = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField()
    status_url = serializers.CharField()
