"""The admin's "Import products" form refuses an oversized upload at the limit, without reading the rest."""
import socket
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from imports.models import MarketplaceImportJob
from tests.factories import LimitedStaffFactory, StaffFactory, VendorFactory
from tests.imports.conftest import columns_post

ADD = "admin:imports_marketplaceimportjob_add"
LIMIT = 1024
MESSAGE = "The file is larger than the 1 KB upload limit."
CSRF = "a" * 32  # an unmasked CSRF secret: the same value as cookie and form field
BOUNDARY = "limit-test-boundary"


@pytest.fixture
def small_limit(settings):
    settings.IMPORTS_MAX_UPLOAD_SIZE = LIMIT


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [StaffFactory, LimitedStaffFactory])
def test_oversized_upload_gets_the_apis_message(client, small_limit, persona):
    from tests.conftest import CLERK_PERMISSIONS

    client.force_login(persona(permissions=CLERK_PERMISSIONS) if persona is LimitedStaffFactory else persona())
    vendor = VendorFactory()
    feed = SimpleUploadedFile("big.csv", b"id,title,price\n" + b"X-1,Gros,1 EUR\n" * 1000)

    response = client.post(reverse(ADD), {"vendor": vendor.pk, "marketplace": "letzshop", "upload": feed})

    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not MarketplaceImportJob.objects.exists()


@pytest.mark.django_db
def test_upload_under_the_limit_still_imports(client, small_limit, django_capture_on_commit_callbacks):
    client.force_login(StaffFactory())
    vendor = VendorFactory()

    columns = client.post(
        reverse(ADD), {"vendor": vendor.pk, "marketplace": "letzshop", "upload": SimpleUploadedFile("s.csv", b"id,title,price\nS-1,Petit,1 EUR\n")}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(columns.url, columns_post(["id", "title", "price"], {"title": "title", "price": "price"}, "id"))

    assert response.status_code == 302
    assert MarketplaceImportJob.objects.get().rows_created == 1


def multipart_head(fields: dict, *, file_name: str) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="{file_name}"\r\nContent-Type: text/csv\r\n\r\n')
    return "".join(parts).encode()


@pytest.mark.django_db(transaction=True)
def test_the_server_answers_before_the_rest_of_the_file_is_sent(live_server, small_limit):
    """Over real HTTP: send a fifth of a 20 MB upload and hold the rest; the form's answer comes back anyway."""
    client = Client()
    client.force_login(StaffFactory())
    session = client.cookies["sessionid"].value
    vendor = VendorFactory()
    head = multipart_head({"csrfmiddlewaretoken": CSRF, "vendor": vendor.pk, "marketplace": "letzshop"}, file_name="huge.csv")
    total = len(head) + 20 * 1024 * 1024
    url = urlsplit(live_server.url)

    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(
            (
                f"POST {reverse(ADD)} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {total}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Cookie: sessionid={session}; csrftoken={CSRF}\r\n\r\n"
            ).encode()
            + head
        )
        conn.sendall(b"x" * (4 * 1024 * 1024))  # the first 4 MB of 20; the rest is never sent
        answer = b""
        while b"</html>" not in answer:
            chunk = conn.recv(65536)  # times out (the test fails) if the server waits for the whole body
            if not chunk:
                break
            answer += chunk

    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 200 OK", answer[:500]
    assert MESSAGE.encode() in answer
    assert not MarketplaceImportJob.objects.exists()
