"""The shared shapes: a task type's input base, the trigger answer, the status body."""
from django.urls import reverse
from rest_framework import serializers
from rest_framework.fields import empty

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
    error_detail = serializers.CharField(help_text="The technical cause of a failure (exception and driver message); empty otherwise.")
    details = serializers.SerializerMethodField()

    def get_details(self, job: BackgroundTask) -> dict:
        details = job.get_details()
        if job.files_pruned_at is not None:
            # Retention deleted the job's files (uploads, reports, exports); the row stays.
            details = {**details, "files_pruned_at": job.files_pruned_at.isoformat()}
        return details


class TriggerResponseSerializer(serializers.Serializer):
    """Documents the 202 body (for the OpenAPI schema)."""

    job_id = serializers.IntegerField()
    task_type = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField()
    status_url = serializers.CharField()


def json_type_error(field: serializers.Field, value) -> str | None:
    """Why ``value`` from a JSON body is not of ``field``'s JSON type, or None when it is."""
    if value is empty or value is None or isinstance(field, serializers.FileField):
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(value, int) and not isinstance(value, bool) else "Must be a whole number."
    if isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.RelatedField | serializers.DateTimeField):
        return None if isinstance(value, str) else "Must be a string."
    return None


def form_type_error(field: serializers.Field, value) -> str | None:
    """Why ``value`` from a form body is not of ``field``'s type, or None: a boolean is written true or
    false; an empty text is blank, not "use the default" (as DRF reads a form's empty value)."""
    if isinstance(field, serializers.BooleanField) and isinstance(value, str) and value not in ("true", "false"):
        return "Must be true or false."
    if isinstance(field, serializers.CharField) and value == "" and not field.allow_blank:
        return "This field may not be blank."
    return None


class TaskInputSerializer(serializers.Serializer):
    """Base of a task type's input serializer: values must have the type the schema gives them.

    In a JSON body a string is not a boolean and a number is not a string; in a form or multipart
    body (all text) a boolean is ``true`` or ``false``; a field the input does not have is refused.
    The Python values the admin and the commands pass are parsed as usual.
    """

    def to_internal_value(self, data):
        request = self.context.get("request")
        if request is not None and isinstance(data, dict):
            is_json = getattr(request, "content_type", "").startswith("application/json")
            # A field the input does not have is refused, not ignored: a misspelt option
            # ("deactivate_mising") must not start a job that silently does something else.
            errors = {name: ["Unknown field: this task takes no such input."] for name in data if name not in self.fields}
            for field in self.fields.values():
                value = data.get(field.field_name, empty)
                error = json_type_error(field, value) if is_json else form_type_error(field, value)
                if not field.read_only and error:
                    errors[field.field_name] = [error]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
