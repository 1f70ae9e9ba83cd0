"""API URLs of this app."""
from wizamart.urlhelpers import api_path

from .products import api

urlpatterns = [
    api_path("api/v1/imports/products", api.ProductImportCreateApi.as_view(), name="product-import-create"),
    api_path(
        "api/v1/imports/products/<int:job_id>/error-report",
        api.ProductImportErrorReportApi.as_view(),
        name="product-import-error-report",
    ),
]
