"""Bodies the API cannot take answer JSON over real HTTP: oversized JSON (400 field errors), chunked uploads (411)."""
import json

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token

from imports.models import MarketplaceImportJob
from tests.factories import StaffFactory, VendorFactory

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "chunked-test-boundary"


@pytest.fixture
def token():
    return Token.objects.create(user=StaffFactory()).key


@pytest.mark.parametrize("path", ["/api/v1/imports/products", "/api/v1/exports/products"])
def test_json_body_over_the_size_limit_is_a_json_400(live_server, token, path):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    body = json.dumps({"vendor": "nobody", "source_url": "https://feeds.example.com/a.csv", "marketplace": padding})

    response = requests.post(
        live_server.url + path,
        data=body,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        timeout=60,
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "non_field_errors": [
            "The request body is larger than the 10 MB limit for JSON and form fields; send a file as a multipart upload."
        ]
    }


def chunked_multipart(vendor_code: str):
    yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="vendor"\r\n\r\n{vendor_code}\r\n'.encode()
    yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="feed.csv"\r\n\r\n'.encode()
    yield b"id,title,price\nC-1,Chaise,40 EUR\n"
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_chunked_upload_without_a_length_is_a_clear_411(live_server, token):
    vendor = VendorFactory()

    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length.
    response = requests.post(
        live_server.url + "/api/v1/imports/products",
        data=chunked_multipart(vendor.code),
        headers={"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=60,
    )

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 411
    assert response.json() == {
        "detail": "A request body needs a Content-Length header: send the upload without chunked transfer encoding."
    }
    assert not MarketplaceImportJob.objects.exists()


def test_the_same_upload_with_a_length_is_accepted(live_server, token):
    vendor = VendorFactory()
    body = b"".join(chunked_multipart(vendor.code))

    response = requests.post(
        live_server.url + "/api/v1/imports/products",
        data=body,
        headers={"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=60,
    )

    assert response.status_code == 202, response.text
    assert MarketplaceImportJob.objects.get(pk=response.json()["job_id"]).vendor == vendor
