"""API URLs of this app."""
from django.urls import include, path

urlpatterns: list = [
    path("", include("quality.scans.urls")),
]
