"""Scan API: the seed's code-quality endpoints and the standard trigger (POST /api/v1/quality/scans)."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from background_tasks.api import TaskTriggerApi, triggered_by_api

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


class ScanCreateApi(TaskTriggerApi):
    """Start a scan of one validator (the standard trigger: 202 with job_id)."""

    class InputSerializer(serializers.Serializer):
        validator_type = serializers.ChoiceField(choices=ValidatorType.choices, default=ValidatorType.ARCHITECTURE)

    def create_job(self, *, data, triggered_by):
        return code_quality_scan_create(validator_type=data["validator_type"], triggered_by=triggered_by)


class CodeQualityScanApi(APIView):
    """Start scans (all three validators unless ``validator_types`` names some): 202 with their ids."""

    class InputSerializer(serializers.Serializer):
        validator_types = serializers.ListField(
            child=serializers.ChoiceField(choices=ValidatorType.choices), required=False, allow_empty=False
        )

    class OutputSerializer(serializers.Serializer):
        class ScanSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            validator_type = serializers.CharField()
            status = serializers.CharField()
            message = serializers.CharField()

        scans = ScanSerializer(many=True)
        status_url = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scans = code_quality_scans_create(
            validator_types=serializer.validated_data.get("validator_types"), triggered_by=triggered_by_api(request)
        )
        body = {
            "scans": [{"id": s.pk, "validator_type": s.validator_type, "status": s.status, "message": QUEUED_MESSAGE} for s in scans],
            # The running list answers every scan of the batch until it finishes; each has its own status too.
            "status_url": reverse("code-quality-scans-running"),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class CodeQualityScanStatusApi(APIView):
    """One scan's status and counts."""

    @extend_schema(responses=ScanStatusSerializer)
    def get(self, request, scan_id: int):
        return Response(ScanStatusSerializer(get_scan_or_404(scan_id)).data)


class CodeQualityRunningScansApi(APIView):
    """The scans not finished yet (pending or running)."""

    @extend_schema(responses=ScanStatusSerializer(many=True))
    def get(self, request):
        return Response(ScanStatusSerializer(scan_active_list(), many=True).data)


class ViolationPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class CodeQualityViolationsApi(APIView):
    """A scan's violations, by file and line; filter by rule_id, severity or file."""

    class FilterSerializer(serializers.Serializer):
        rule_id = serializers.CharField(required=False, max_length=40)
        severity = serializers.ChoiceField(choices=Severity.choices, required=False)
        file = serializers.CharField(required=False, max_length=500)

    @extend_schema(parameters=[FilterSerializer], responses=ViolationSerializer(many=True))
    def get(self, request, scan_id: int):
        scan = get_scan_or_404(scan_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = ViolationPagination()
        page = paginator.paginate_queryset(scan_violation_list(scan=scan, **filters.validated_data), request, view=self)
        return paginator.get_paginated_response(ViolationSerializer(page, many=True).data)
