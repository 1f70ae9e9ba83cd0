"""URLs of the unified API."""
from .api import BackgroundTaskViewSet
from .routers import TaskApiRouter, api_path

router = TaskApiRouter()
router.register("api/v1/admin/background-tasks", BackgroundTaskViewSet, basename="background-task")

urlpatterns = [
    *router.urls,
    api_path(
        "api/v1/admin/notifications/unread-count",
        BackgroundTaskViewSet.as_view({"get": "unread_count"}),
        name="background-task-unread-count",
    ),
]
