"""Exports API: trigger a product export; download its file."""
from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound

from background_tasks.api import TaskTriggerViewSet
from background_tasks.files import stored_file_response
from background_tasks.schema import ErrorDetailSerializer, error_responses
from background_tasks.serializers import TriggerResponseSerializer

from .models import ProductExportJob
from .serializers import ProductExportInputSerializer
from .services import product_export_create


# Documented as JSON: a form cannot say "no date" (null) for updated_since.
@extend_schema_view(
    create=extend_schema(
        request={"application/json": ProductExportInputSerializer},
        responses={202: TriggerResponseSerializer, **error_responses(400, 401, 403, 411)},
    )
)
class ProductExportViewSet(TaskTriggerViewSet):
    """Start a product feed export (CSV or Google Shopping XML)."""

    model = ProductExportJob
    input_serializer_class = ProductExportInputSerializer
    create_service = staticmethod(product_export_create)

    def perform_content_negotiation(self, request, force=False):
        # The file answers any Accept header; only errors are rendered, as JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "download")

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The export file"),
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/gzip"): OpenApiResponse(OpenApiTypes.BINARY),
            **error_responses(401, 403, 503),
            404: OpenApiResponse(ErrorDetailSerializer, description="No such export, not finished, or its file has expired"),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, job_id: int):
        """Stream the file of a finished export (staff only); 404 while unfinished or once expired."""
        job = ProductExportJob.objects.downloadable(now=timezone.now()).select_related("vendor").filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No downloadable export with id {job_id}: unknown, not finished, or expired.")
        try:
            response = stored_file_response(job.file_name, filename=job.download_name, content_type=job.content_type)
        except FileNotFoundError:
            raise NotFound(f"The file of export {job_id} is no longer stored.") from None
        response["X-Content-SHA256"] = job.sha256
        return response
