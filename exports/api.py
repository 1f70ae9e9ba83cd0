"""Exports API: trigger a product export; download its file."""
from __future__ import annotations

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from background_tasks.api import TaskTriggerApi
from wizamart.marketplace.models import Product, Vendor

from .models import ProductExportJob
from .services import private_storage, product_export_create


class ProductExportCreateApi(TaskTriggerApi):
    """Start a product feed export (CSV or Google Shopping XML)."""

    class InputSerializer(serializers.Serializer):
        vendor = serializers.SlugRelatedField(
            slug_field="code",
            queryset=Vendor.objects.all(),
            required=False,
            allow_null=True,
            help_text="Vendor code; leave out to export every vendor.",
        )
        format = serializers.ChoiceField(choices=ProductExportJob.Format.choices, default=ProductExportJob.Format.CSV)
        gzip = serializers.BooleanField(default=False)
        availability = serializers.ChoiceField(choices=Product.Availability.choices, required=False, allow_blank=True)
        updated_since = serializers.DateTimeField(required=False, allow_null=True)

    def create_job(self, *, data, triggered_by):
        return product_export_create(triggered_by=triggered_by, **data)


class ProductExportDownloadApi(APIView):
    """Stream the file of a finished export (staff only); 404 while unfinished or once expired."""

    def perform_content_negotiation(self, request, force=False):
        # The file answers any Accept header; only errors are rendered, as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The export file"),
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/gzip"): OpenApiResponse(OpenApiTypes.BINARY),
            404: OpenApiResponse(description="No such export, not finished, or its file has expired"),
        }
    )
    def get(self, request, job_id: int):
        job = ProductExportJob.objects.downloadable(now=timezone.now()).select_related("vendor").filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No downloadable export with id {job_id}: unknown, not finished, or expired.")
        try:
            handle = private_storage().open(job.file_name, "rb")
        except FileNotFoundError:
            raise NotFound(f"The file of export {job_id} is no longer stored.") from None
        response = FileResponse(handle, as_attachment=True, filename=job.download_name, content_type=job.content_type)
        response["X-Content-SHA256"] = job.sha256
        response["Cache-Control"] = "private, no-store"
        return response
