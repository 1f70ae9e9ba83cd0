"""Test runs API: the trigger (one run at a time)."""
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from background_tasks.api import TaskTriggerViewSet, triggered_by_api
from background_tasks.schema import error_responses
from background_tasks.serializers import TriggerResponseSerializer, trigger_body

from .models import TestRun
from .serializers import TestRunInputSerializer
from .services import test_run_create

ALREADY_ACTIVE = "A test run is already pending or running: this is that run"


class TestRunViewSet(TaskTriggerViewSet):
    """Start a run of the project's test suite (or a selection of it); while one runs, answer with that one."""

    model = TestRun
    # A selection is a list: JSON only.
    parser_classes = [JSONParser]
    input_serializer_class = TestRunInputSerializer
    create_service = staticmethod(test_run_create)

    @extend_schema(
        responses={202: TriggerResponseSerializer, 200: TriggerResponseSerializer, **error_responses(400, 401, 403, 411)}
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            trigger = test_run_create(triggered_by=triggered_by_api(request), **serializer.validated_data)
        if trigger.created:
            return Response(trigger_body(trigger.run), status=status.HTTP_202_ACCEPTED)
        # One run at a time: an active run is answered as it is, not started again.
        return Response(trigger_body(trigger.run, ALREADY_ACTIVE), status=status.HTTP_200_OK)  # architecture: allow BG-003
