"""API URLs of this app: the code-quality scans and the test runs."""
from django.urls import include, path

from background_tasks.routers import TaskApiRouter

from .test_runs.api import TestRunViewSet

router = TaskApiRouter()
router.register("api/v1/quality/test-runs", TestRunViewSet, basename="test-run")

urlpatterns = [
    path("", include("quality.scans.urls")),
    *router.urls,
]
