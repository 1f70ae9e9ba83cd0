"""Orders API: the order import trigger."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.parsers import JSONParser, MultiPartParser

from background_tasks.api import TaskTriggerViewSet
from background_tasks.schema import error_responses
from background_tasks.serializers import TriggerResponseSerializer

from .models import LetzshopHistoricalImportJob
from .serializers import OrderImportApiSerializer, OrderImportFileSerializer, OrderImportInputSerializer
from .services import order_import_create


@extend_schema_view(
    create=extend_schema(
        request={
            "application/json": OrderImportApiSerializer,
            "multipart/form-data": OrderImportFileSerializer,
        },
        responses={202: TriggerResponseSerializer, **error_responses(400, 401, 403, 411, 503)},
    )
)
class OrderImportViewSet(TaskTriggerViewSet):
    """Import a vendor's Letzshop orders: JSON ``vendor`` (+ optional ``since``), or multipart ``vendor`` + ``file``."""

    model = LetzshopHistoricalImportJob
    input_serializer_class = OrderImportInputSerializer
    create_service = staticmethod(order_import_create)
    parser_classes = [JSONParser, MultiPartParser]

    def get_serializer_class(self):
        # The body's media type says which source it is: multipart carries the file, JSON the API's.
        if self.action != "create":
            return super().get_serializer_class()
        content_type = getattr(getattr(self, "request", None), "content_type", "") or ""
        return OrderImportFileSerializer if content_type.startswith("multipart/") else OrderImportApiSerializer
