"""Marketplace API URLs."""
from background_tasks.routers import TaskApiRouter

from .api import SubscriptionMaintenanceViewSet

router = TaskApiRouter()
router.register(
    "api/v1/marketplace/subscription-maintenance", SubscriptionMaintenanceViewSet, basename="subscription-maintenance"
)

urlpatterns = router.urls
