"""Root URLs: the admin (the task pages), the API of every app, its schema and docs."""
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from background_tasks.routers import api_path

admin.site.site_header = "Wizamart back office"
admin.site.site_title = "Wizamart"
admin.site.index_title = "Back office"
# The job lists are wide: give them the whole page rather than a permanent app menu.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    api_path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    api_path("api/v1/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    api_path("api/v1/redoc", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("background_tasks.urls")),
    path("", include("wizamart.marketplace.urls")),
    path("", include("imports.urls")),
    path("", include("exports.urls")),
    path("", include("quality.urls")),
]

# A path under /api/ that matches nothing answers JSON, as every API answer does.
handler404 = "background_tasks.api_errors.api_aware_page_not_found"
