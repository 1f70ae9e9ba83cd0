"""Imports API: the product import trigger and its error report download."""
from django.core.validators import URLValidator
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from background_tasks.api import TaskTriggerApi
from background_tasks.serializers import TriggerResponseSerializer
from wizamart.marketplace.models import Vendor

from ..conf import human_size, imports_settings
from .models import MarketplaceImportJob
from .services import private_storage, product_import_create
from .sources import validate_feed_url

# Room for the multipart envelope and the other form fields around the file.
_FORM_OVERHEAD = 64 * 1024


def _size_limit_message(limit: int) -> str:
    return f"The file is larger than the {human_size(limit)} upload limit."


class ProductImportCreateApi(TaskTriggerApi):
    """Import a vendor's product feed: multipart ``file`` + ``vendor``, or JSON ``source_url`` + ``vendor``."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        vendor = serializers.SlugRelatedField(
            slug_field="code",
            queryset=Vendor.objects.all(),
            error_messages={"does_not_exist": 'No vendor with code "{value}".'},
        )
        file = serializers.FileField(required=False, allow_empty_file=False)
        source_url = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        marketplace = serializers.CharField(required=False, default="letzshop", max_length=50)
        dry_run = serializers.BooleanField(required=False, default=False)
        deactivate_missing = serializers.BooleanField(required=False, default=False)

        def validate_file(self, value):
            limit = imports_settings.MAX_UPLOAD_SIZE
            if value.size > limit:
                raise serializers.ValidationError(_size_limit_message(limit))
            return value

        def validate_source_url(self, value):
            if not value:
                return value
            try:
                value = validate_feed_url(value)
                URLValidator(schemes=["http", "https"])(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from None
            except Exception:
                raise serializers.ValidationError("Enter a valid http or https URL.") from None
            return value

        def validate(self, attrs):
            if attrs.get("file") and attrs.get("source_url"):
                raise serializers.ValidationError({"file": ["Send either a file or a source_url, not both."]})
            if not attrs.get("file") and not attrs.get("source_url"):
                raise serializers.ValidationError({"file": ["Send a file (multipart) or a source_url."]})
            return attrs

    @extend_schema(request=InputSerializer, responses={202: TriggerResponseSerializer})
    def post(self, request, *args, **kwargs):
        limit = imports_settings.MAX_UPLOAD_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + _FORM_OVERHEAD:
            # Refuse before the body is read and spooled to disk.
            return Response({"detail": _size_limit_message(limit)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return super().post(request, *args, **kwargs)

    def create_job(self, *, data, triggered_by):
        return product_import_create(
            vendor=data["vendor"],
            triggered_by=triggered_by,
            upload=data.get("file"),
            source_url=data.get("source_url") or "",
            dry_run=data["dry_run"],
            deactivate_missing=data["deactivate_missing"],
            marketplace=data["marketplace"],
        )


class ProductImportErrorReportApi(APIView):
    """Download the rejected rows of an import (with an ``error`` column), by job id."""

    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request, job_id: int):
        job = MarketplaceImportJob.objects.filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No product import with id {job_id}.")
        storage = private_storage()
        if not job.error_report or not storage.exists(job.error_report):
            raise NotFound(f"Product import {job_id} has no error report.")
        return FileResponse(
            storage.open(job.error_report, "rb"),
            as_attachment=True,
            filename=f"product-import-{job.pk}-errors.csv",
            content_type="text/csv; charset=utf-8",
        )
