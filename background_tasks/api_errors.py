"""API error handling: Django validation errors and oversized bodies become JSON 400s; a bucket down a JSON 503."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.views import exception_handler

from .failures import storage_failure


class StorageUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "storage_unavailable"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MB"


def body_too_large_message() -> str:
    return (
        f"The request body is larger than the {_megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)} limit for JSON "
        "and form fields; send a file as a multipart upload."
    )


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, RequestDataTooBig):
        # Django would answer its HTML "Bad Request": say what was too large, as JSON.
        exc = exceptions.ValidationError(detail={"non_field_errors": [body_too_large_message()]})
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ValidationError(detail={"non_field_errors": [f"Too many fields or files: {exc}"]})
    elif sentence := storage_failure(exc):
        # An upload or a download met a bucket that is down or refuses: say so, never a 500.
        exc = StorageUnavailable(detail=sentence)
    return exception_handler(exc, context)


def api_aware_page_not_found(request, exception=None):
    """handler404: a path under /api/ that names nothing answers JSON like the API; other paths the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
