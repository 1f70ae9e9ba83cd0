"""Imports API: the product import trigger and its error report download."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from background_tasks.api import RequestTooLarge, TaskTriggerViewSet
from background_tasks.files import stored_file_response
from background_tasks.schema import error_responses
from background_tasks.serializers import TriggerResponseSerializer

from .models import MarketplaceImportJob
from .serializers import (
    ProductImportInputSerializer,
    ProductImportUploadSerializer,
    ProductImportUrlFormSerializer,
    ProductImportUrlSerializer,
    upload_size_limit,
    upload_too_large_message,
)
from .services import product_import_create

# Room for the multipart envelope and the other form fields around the file.
FORM_OVERHEAD = 64 * 1024


@extend_schema_view(
    create=extend_schema(
        request={
            "multipart/form-data": ProductImportUploadSerializer,
            "application/json": ProductImportUrlSerializer,
            "application/x-www-form-urlencoded": ProductImportUrlFormSerializer,
        },
        responses={202: TriggerResponseSerializer, **error_responses(400, 401, 403, 411, 413, 503)},
    )
)
class ProductImportViewSet(TaskTriggerViewSet):
    """Import a vendor's product feed: multipart ``file`` + ``vendor``, or JSON ``source_url`` + ``vendor``."""

    model = MarketplaceImportJob
    input_serializer_class = ProductImportInputSerializer
    create_service = staticmethod(product_import_create)
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action == "create":
            # Refuse before the body is read and spooled to disk.
            limit = upload_size_limit()
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit + FORM_OVERHEAD:
                raise RequestTooLarge(upload_too_large_message(limit))

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The rejected rows, with an error column"),
            **error_responses(401, 403, 404, 503),
        }
    )
    @action(detail=True, methods=["get"], url_path="error-report")
    def error_report(self, request, job_id: int):
        """Download the rejected rows of an import (with an ``error`` column), by job id."""
        job = self.get_job()
        try:
            if not job.error_report:
                raise FileNotFoundError
            return stored_file_response(
                job.error_report, filename=f"product-import-{job.pk}-errors.csv", content_type="text/csv; charset=utf-8"
            )
        except FileNotFoundError:
            raise NotFound(f"Product import {job_id} has no error report.") from None
