"""API URLs of this app."""
from background_tasks.routers import TaskApiRouter

from .test_runs.api import TestRunViewSet

router = TaskApiRouter()
router.register("api/v1/quality/test-runs", TestRunViewSet, basename="test-run")

urlpatterns = router.urls
