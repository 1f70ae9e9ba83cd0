"""Scan API: the seed's code-quality endpoints and the standard trigger (POST /api/v1/quality/scans)."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from background_tasks.api import JOB_ID_REGEX, TaskTriggerViewSet, triggered_by_api

from .models import ArchitectureScan, ArchitectureViolation, Severity, ValidatorType
from .selectors import scan_active_list, scan_violation_list
from .services import code_quality_scan_create, code_quality_scans_create

QUEUED_MESSAGE = "Scan queued"


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


class ScanInputSerializer(serializers.Serializer):
    validator_type = serializers.ChoiceField(choices=ValidatorType.choices, default=ValidatorType.ARCHITECTURE)


class ScanBatchInputSerializer(serializers.Serializer):
    validator_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ValidatorType.choices), required=False, allow_empty=False
    )


class QueuedScanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    validator_type = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField()


class ScanBatchOutputSerializer(serializers.Serializer):
    scans = QueuedScanSerializer(many=True)
    status_url = serializers.CharField()


class ScanFilterSerializer(serializers.Serializer):
    rule_id = serializers.CharField(required=False, max_length=40)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    file = serializers.CharField(required=False, max_length=500)


class ViolationPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ScanViewSet(TaskTriggerViewSet):
    """Start a code-quality scan of one validator (architecture by default)."""

    model = ArchitectureScan
    input_serializer_class = ScanInputSerializer
    create_service = staticmethod(code_quality_scan_create)


class CodeQualityScanBatchViewSet(ViewSet):
    """Start scans, all three validators unless ``validator_types`` names some: 202 with their ids."""

    @extend_schema(request=ScanBatchInputSerializer, responses={202: ScanBatchOutputSerializer})
    def create(self, request):
        serializer = ScanBatchInputSerializer(data=request.data)
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

    @extend_schema(responses=ScanStatusSerializer(many=True))
    @action(detail=False, methods=["get"])
    def running(self, request):
        """The scans not finished yet (pending or running), oldest first."""
        return Response(ScanStatusSerializer(scan_active_list(), many=True).data)

    @extend_schema(responses=ScanStatusSerializer)
    @action(detail=True, methods=["get"], url_path="status", url_name="status")
    def scan_status(self, request, scan_id: int):
        """One scan's status and counts."""
        return Response(ScanStatusSerializer(get_scan_or_404(scan_id)).data)

    @extend_schema(parameters=[ScanFilterSerializer], responses=ViolationSerializer(many=True))
    @action(detail=True, methods=["get"])
    def violations(self, request, scan_id: int):
        """A scan's violations by file and line (paginated); filter by rule_id, severity or file."""
        scan = get_scan_or_404(scan_id)
        filters = ScanFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = ViolationPagination()
        page = paginator.paginate_queryset(scan_violation_list(scan=scan, **filters.validated_data), request, view=self)
        return paginator.get_paginated_response(ViolationSerializer(page, many=True).data)
