"""Orders API: the order import trigger."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from background_tasks.api import TaskTriggerViewSet
from background_tasks.schema import error_responses
from background_tasks.serializers import TriggerResponseSerializer

from .models import LetzshopHistoricalImportJob
from .serializers import OrderImportApiSerializer, OrderImportInputSerializer, OrderImportUploadSerializer
from .services import order_import_create


@extend_schema_view(
    create=extend_schema(
        request={
            "application/json": OrderImportApiSerializer,
            "application/x-www-form-urlencoded": OrderImportApiSerializer,
            "multipart/form-data": OrderImportUploadSerializer,
        },
        responses={202: TriggerResponseSerializer, **error_responses(400, 401, 403)},
    )
)
class OrderImportViewSet(TaskTriggerViewSet):
    """Import a vendor's Letzshop orders: JSON ``vendor`` (+ optional ``since``), or multipart ``vendor`` + ``file``."""

    model = LetzshopHistoricalImportJob
    input_serializer_class = OrderImportInputSerializer
    create_service = staticmethod(order_import_create)
    parser_classes = [JSONParser, MultiPartParser, FormParser]
