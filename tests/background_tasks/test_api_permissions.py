"""Every API URL refuses anonymous (401) and non-staff (403) users."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


def _api_paths(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            yield from _api_paths(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern) and regex.startswith("api/v1"):
            path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", regex)
            yield "/" + path.replace("/?$", "").rstrip("$")


API_PATHS = sorted(set(_api_paths()))


def test_the_api_has_urls_to_check():
    assert "/api/v1/admin/background-tasks" in API_PATHS
    assert "/api/v1/marketplace/subscription-maintenance" in API_PATHS


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_gets_401(anon_client, path, method):
    response = getattr(anon_client, method)(path)

    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_non_staff_gets_403(user_client, path, method):
    assert getattr(user_client, method)(path).status_code == 403


def test_token_auth_works_for_staff(staff_user, anon_client):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=staff_user)
    response = anon_client.get("/api/v1/admin/background-tasks", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
