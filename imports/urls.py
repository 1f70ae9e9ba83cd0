"""API URLs of this app."""
from background_tasks.routers import TaskApiRouter

from .orders.api import OrderImportViewSet
from .products.api import ProductImportViewSet

router = TaskApiRouter()
router.register("api/v1/imports/products", ProductImportViewSet, basename="product-import")
router.register("api/v1/imports/orders", OrderImportViewSet, basename="order-import")

urlpatterns = router.urls
