"""Marketplace API URLs."""
from wizamart.urlhelpers import api_path

from . import api

urlpatterns = [
    api_path(
        "api/v1/marketplace/subscription-maintenance",
        api.SubscriptionMaintenanceCreateApi.as_view(),
        name="subscription-maintenance-create",
    ),
]
