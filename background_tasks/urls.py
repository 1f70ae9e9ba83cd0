"""URLs of the unified API."""
from wizamart.urlhelpers import api_path

from . import api

urlpatterns = [
    api_path("api/v1/admin/background-tasks", api.BackgroundTaskListApi.as_view(), name="background-task-list"),
    api_path("api/v1/admin/background-tasks/counts", api.BackgroundTaskCountsApi.as_view(), name="background-task-counts"),
    api_path(
        "api/v1/admin/notifications/unread-count",
        api.UnreadNotificationsApi.as_view(),
        name="background-task-unread-count",
    ),
    api_path(
        "api/v1/admin/background-tasks/<int:job_id>", api.BackgroundTaskDetailApi.as_view(), name="background-task-detail"
    ),
    api_path(
        "api/v1/admin/background-tasks/<int:job_id>/cancel",
        api.BackgroundTaskCancelApi.as_view(),
        name="background-task-cancel",
    ),
    api_path(
        "api/v1/admin/background-tasks/<int:job_id>/retry",
        api.BackgroundTaskRetryApi.as_view(),
        name="background-task-retry",
    ),
]
