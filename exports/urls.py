"""Exports API URLs."""
from wizamart.urlhelpers import api_path

from . import api

urlpatterns = [
    api_path("api/v1/exports/products", api.ProductExportCreateApi.as_view(), name="product-export-create"),
    api_path(
        "api/v1/exports/products/<int:job_id>/download",
        api.ProductExportDownloadApi.as_view(),
        name="product-export-download",
    ),
]
