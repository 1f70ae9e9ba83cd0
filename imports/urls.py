"""API URLs of this app."""
from background_tasks.routers import TaskApiRouter

from .products.api import ProductImportViewSet

router = TaskApiRouter()
router.register("api/v1/imports/products", ProductImportViewSet, basename="product-import")

urlpatterns = router.urls
