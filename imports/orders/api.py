"""Orders API: the order import trigger."""
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from background_tasks.api import TaskTriggerViewSet

from .models import LetzshopHistoricalImportJob
from .serializers import OrderImportInputSerializer
from .services import order_import_create


class OrderImportViewSet(TaskTriggerViewSet):
    """Import a vendor's Letzshop orders: JSON ``vendor`` (+ optional ``since``), or multipart ``vendor`` + ``file``."""

    model = LetzshopHistoricalImportJob
    input_serializer_class = OrderImportInputSerializer
    create_service = staticmethod(order_import_create)
    parser_classes = [JSONParser, MultiPartParser, FormParser]
