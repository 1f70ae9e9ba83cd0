"""URLs of the code-quality scans: the standard trigger and the seed's code-quality endpoints."""
from background_tasks.routers import TaskApiRouter

from . import api

router = TaskApiRouter()
router.register("api/v1/quality/scans", api.ScanViewSet, basename="code-quality-scan-trigger")
router.register("api/v1/admin/code-quality/scan", api.CodeQualityScanBatchViewSet, basename="code-quality-scan")
router.register("api/v1/admin/code-quality/scans", api.CodeQualityScanViewSet, basename="code-quality-scans")

urlpatterns = router.urls
