"""Scan API: the seed's code-quality endpoints and the standard trigger (POST /api/v1/quality/scans)."""
from __future__ import annotations

import json

from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from background_tasks.api import JOB_ID_REGEX, TaskTriggerViewSet, triggered_by_api
from background_tasks.schema import MAX_JOB_ID, error_responses
from background_tasks.serializers import TaskInputSerializer, TriggerResponseSerializer

from .models import ArchitectureScan, ArchitectureViolation, Severity, ValidatorType
from .selectors import scan_active_list, scan_violation_list
from .services import code_quality_scan_create, code_quality_scans_create

QUEUED_MESSAGE = "Scan queued"
VIOLATIONS_PAGE_SIZE = 100
VIOLATIONS_MAX_PAGE_SIZE = 1000
SCAN_ID_PARAMETER = OpenApiParameter(
    "scan_id", {"type": "integer", "minimum": 1, "maximum": MAX_JOB_ID}, OpenApiParameter.PATH, description="The scan's job id"
)


class ScanStatusSerializer(serializers.ModelSerializer):
    """A scan's status, as the seed's dashboard polls it."""

    class Meta:
        model = ArchitectureScan
        fields = [
            "id", "validator_type", "status", "progress_percent", "progress_message", "total_violations", "errors",
            "warnings", "infos", "total_files", "duration_seconds", "created_at", "started_at", "completed_at",
            "triggered_by", "error_message",
        ]


class ViolationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArchitectureViolation
        fields = ["rule_id", "severity", "file", "line", "message", "snippet"]


def get_scan_or_404(scan_id: int) -> ArchitectureScan:
    scan = ArchitectureScan.objects.filter(pk=scan_id).first()
    if scan is None:
        raise NotFound(f"No code quality scan with id {scan_id}.")
    return scan


class ScanInputSerializer(TaskInputSerializer):
    validator_type = serializers.ChoiceField(choices=ValidatorType.choices, default=ValidatorType.ARCHITECTURE)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": list(ValidatorType.values)},
        "minItems": 1,
        "description": "Validators to run, each once (a repeated name counts once); leave out for all three.",
    }
)
class ValidatorTypesField(serializers.Field):
    """A list of validator names; its errors are flat messages, as every field error of the API."""

    default_error_messages = {
        "not_a_list": "Send a list of validators, e.g. [\"architecture\", \"security\"].",
        "empty": "Name at least one validator, or leave validator_types out to run all three.",
        "invalid": "{value} is not a validator; choose from {choices}.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        if not data:
            self.fail("empty")
        for value in data:
            if not isinstance(value, str) or value not in ValidatorType.values:
                self.fail("invalid", value=json.dumps(value)[:40], choices=", ".join(ValidatorType.values))
        return list(dict.fromkeys(data))

    def to_representation(self, value):
        return list(value)


class ScanBatchInputSerializer(TaskInputSerializer):
    validator_types = ValidatorTypesField(required=False)


class QueuedScanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    validator_type = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField()


class ScanBatchOutputSerializer(serializers.Serializer):
    scans = QueuedScanSerializer(many=True)
    status_url = serializers.CharField()


# Text filters never hold a NUL character (DRF refuses it): the pattern puts that in the schema.
NO_NUL = RegexValidator(r"^[^\x00]*$", "Null characters are not allowed.")


class ScanFilterSerializer(serializers.Serializer):
    rule_id = serializers.CharField(required=False, max_length=40, validators=[NO_NUL])
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    file = serializers.CharField(required=False, max_length=500, validators=[NO_NUL])
    # Read by the paginator; checked here so an out-of-range page size is refused, not silently capped.
    page = serializers.IntegerField(required=False, min_value=1, help_text="Page number (from 1)")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=VIOLATIONS_MAX_PAGE_SIZE, help_text=f"Violations per page (default {VIOLATIONS_PAGE_SIZE})"
    )

    def validate(self, attrs):
        # A query string's empty value would otherwise read as "no filter": refuse it as the schema does.
        blank = [name for name in self.fields if self.initial_data.get(name) == ""]
        if blank:
            raise serializers.ValidationError({name: ["This filter may not be blank."] for name in blank})
        return attrs


class ViolationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ViolationSerializer(many=True)


class ViolationPagination(PageNumberPagination):
    page_size = VIOLATIONS_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = VIOLATIONS_MAX_PAGE_SIZE


# Documented as JSON, as the seed's dashboard sends it.
@extend_schema_view(
    create=extend_schema(
        request={"application/json": ScanInputSerializer},
        responses={202: TriggerResponseSerializer, **error_responses(400, 401, 403, 411)},
    )
)
class ScanViewSet(TaskTriggerViewSet):
    """Start a code-quality scan of one validator (architecture by default)."""

    model = ArchitectureScan
    input_serializer_class = ScanInputSerializer
    create_service = staticmethod(code_quality_scan_create)


class CodeQualityScanBatchViewSet(ViewSet):
    """Start scans, all three validators unless ``validator_types`` names some: 202 with their ids."""

    @extend_schema(
        request={"application/json": ScanBatchInputSerializer},
        responses={202: ScanBatchOutputSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        serializer = ScanBatchInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        scans = code_quality_scans_create(
            validator_types=serializer.validated_data.get("validator_types"), triggered_by=triggered_by_api(request)
        )
        body = {
            "scans": [{"id": s.pk, "validator_type": s.validator_type, "status": s.status, "message": QUEUED_MESSAGE} for s in scans],
            # The running list holds every scan of the batch until it finishes; each has its own status too.
            "status_url": reverse("code-quality-scans-running"),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class CodeQualityScanViewSet(ViewSet):
    """The seed's scan endpoints: running scans, one scan's status, its violations."""

    lookup_field = "scan_id"
    lookup_value_regex = JOB_ID_REGEX

    @extend_schema(responses={200: ScanStatusSerializer(many=True), **error_responses(401, 403)})
    @action(detail=False, methods=["get"])
    def running(self, request):
        """The scans not finished yet (pending or running), oldest first."""
        return Response(ScanStatusSerializer(scan_active_list(), many=True).data)

    @extend_schema(parameters=[SCAN_ID_PARAMETER], responses={200: ScanStatusSerializer, **error_responses(401, 403, 404)})
    @action(detail=True, methods=["get"], url_path="status", url_name="status")
    def scan_status(self, request, scan_id: int):
        """One scan's status and counts."""
        return Response(ScanStatusSerializer(get_scan_or_404(scan_id)).data)

    @extend_schema(
        parameters=[SCAN_ID_PARAMETER, ScanFilterSerializer],
        responses={200: ViolationPageSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def violations(self, request, scan_id: int):
        """A scan's violations by file and line (paginated); filter by rule_id, severity or file."""
        scan = get_scan_or_404(scan_id)
        filters = ScanFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = ViolationPagination()
        criteria = {k: v for k, v in filters.validated_data.items() if k not in ("page", "page_size")}
        page = paginator.paginate_queryset(scan_violation_list(scan=scan, **criteria), request, view=self)
        return paginator.get_paginated_response(ViolationSerializer(page, many=True).data)
