"""Exports API URLs."""
from background_tasks.routers import TaskApiRouter

from .api import ProductExportViewSet

router = TaskApiRouter()
router.register("api/v1/exports/products", ProductExportViewSet, basename="product-export")

urlpatterns = router.urls
