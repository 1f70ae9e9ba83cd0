"""Marketplace API: the subscription maintenance trigger."""
from background_tasks.api import TaskTriggerViewSet

from .models import SubscriptionMaintenanceRun
from .services import subscription_maintenance_create


class SubscriptionMaintenanceViewSet(TaskTriggerViewSet):
    """Start a subscription maintenance run now (it takes no input)."""

    model = SubscriptionMaintenanceRun
    input_serializer_class = None
    create_service = staticmethod(subscription_maintenance_create)
