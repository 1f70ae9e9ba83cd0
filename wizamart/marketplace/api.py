"""Marketplace API: the subscription maintenance trigger."""
from background_tasks.api import TaskTriggerApi
from background_tasks.services import background_task_create

from .models import SubscriptionMaintenanceRun


class SubscriptionMaintenanceCreateApi(TaskTriggerApi):
    """Start a subscription maintenance run now."""

    def create_job(self, *, data, triggered_by):
        return background_task_create(model=SubscriptionMaintenanceRun, triggered_by=triggered_by)
