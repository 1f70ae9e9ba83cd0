"""URLs of the code-quality scans."""
from wizamart.urlhelpers import api_path

from . import api

urlpatterns = [
    api_path("api/v1/quality/scans", api.ScanCreateApi.as_view(), name="code-quality-scan-create"),
    api_path("api/v1/admin/code-quality/scan", api.CodeQualityScanApi.as_view(), name="code-quality-scan"),
    api_path("api/v1/admin/code-quality/scans/running", api.CodeQualityRunningScansApi.as_view(), name="code-quality-scans-running"),
    api_path(
        "api/v1/admin/code-quality/scans/<int:scan_id>/status",
        api.CodeQualityScanStatusApi.as_view(),
        name="code-quality-scan-status",
    ),
    api_path(
        "api/v1/admin/code-quality/scans/<int:scan_id>/violations",
        api.CodeQualityViolationsApi.as_view(),
        name="code-quality-scan-violations",
    ),
]
