"""OpenAPI documentation of the task API: error answers, the job id, the list's parameters."""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from .registry import task_types
from .selectors import MAX_IDS
from .status import TaskStatus

# Job ids are PostgreSQL bigints: anything larger is not an id (and must not reach the database).
MAX_JOB_ID = 2**63 - 1
MAX_LIST_LIMIT = 1000


class ErrorDetailSerializer(serializers.Serializer):
    """An error that concerns the whole request."""

    detail = serializers.CharField()


# 400: each field that was refused, with its messages (``non_field_errors`` for the request as a whole).
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "description": "Field errors: each refused field with its messages; non_field_errors for the whole request.",
}

# A body that cannot be parsed at all (malformed JSON) answers {"detail": ...}.
BAD_REQUEST_SCHEMA = {
    "anyOf": [
        FIELD_ERRORS_SCHEMA,
        {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    ]
}

ERROR_ANSWERS = {
    400: OpenApiResponse(
        BAD_REQUEST_SCHEMA,
        description="Bad input: field errors",
        examples=[OpenApiExample("Field errors", value={"vendor": ["This field is required."]}, status_codes=["400"])],
    ),
    401: OpenApiResponse(ErrorDetailSerializer, description="Not authenticated (send a token or a session cookie)"),
    403: OpenApiResponse(ErrorDetailSerializer, description="Authenticated but not staff"),
    404: OpenApiResponse(ErrorDetailSerializer, description="No such job"),
    409: OpenApiResponse(ErrorDetailSerializer, description="The job's status does not allow this"),
    411: OpenApiResponse(ErrorDetailSerializer, description="A body without a length (chunked) where one is required"),
    413: OpenApiResponse(ErrorDetailSerializer, description="The request body is over the size limit"),
    503: OpenApiResponse(ErrorDetailSerializer, description="The file storage (the S3 bucket) is down or refused"),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers ``codes``, for ``extend_schema(responses={..., **error_responses(...)})``."""
    return {code: ERROR_ANSWERS[code] for code in codes}


JOB_ID_PARAMETER = OpenApiParameter(
    "job_id",
    {"type": "integer", "minimum": 1, "maximum": MAX_JOB_ID},
    OpenApiParameter.PATH,
    description="The job's id (unique across task types)",
)


def list_parameters() -> list[OpenApiParameter]:
    """The list's query parameters; the task types are read from the registry when the schema is built."""
    return [
        OpenApiParameter(
            "task_type", {"type": "string", "enum": task_types()}, description="One task type, e.g. product_import"
        ),
        OpenApiParameter("status", {"type": "string", "enum": list(TaskStatus.values)}),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT, "default": 50},
            description=f"At most this many jobs (default 50, 1 to {MAX_LIST_LIMIT})",
        ),
        OpenApiParameter(
            "ids",
            {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": MAX_JOB_ID},
                "minItems": 1,
                "maxItems": MAX_IDS,
            },
            style="form",
            explode=False,
            description=(
                f"Comma-separated job ids, e.g. 12,15,20 (at most {MAX_IDS}): these jobs, whatever task_type, "
                "status and limit say; unknown ids are left out. Without `after`, only these jobs are listed."
            ),
        ),
        OpenApiParameter(
            "after",
            {"type": "integer", "minimum": 0, "maximum": MAX_JOB_ID},
            description=(
                "Only jobs with a larger id, i.e. started later, matching task_type and status (up to limit). "
                "With `ids`, the answer holds both sets, each job once."
            ),
        ),
    ]


class TaskApiSchema(AutoSchema):
    """The schema of the task viewsets: the job id path parameter, the list's parameters, triggers without input."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if "{job_id}" in self.path:
            parameters.append(JOB_ID_PARAMETER)
        if getattr(self.view, "action", None) == "list":
            parameters.extend(list_parameters())
        return parameters

    def get_request_serializer(self):
        view = self.view
        if getattr(view, "action", None) == "create" and getattr(view, "input_serializer_class", "") is None:
            return None
        return super().get_request_serializer()


def closed_request_bodies(result, generator, request, public):
    """Postprocessing hook: a trigger's body takes only its documented fields (the API answers 400
    naming any other), so each request body's schema says ``additionalProperties: false``."""
    schemas = result.get("components", {}).get("schemas", {})
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for media in (operation.get("requestBody") or {}).get("content", {}).values():
                ref = (media.get("schema") or {}).get("$ref", "")
                component = schemas.get(ref.rsplit("/", 1)[-1])
                if component is not None and component.get("type") == "object":
                    component["additionalProperties"] = False
    return result
