"""URL sources: fetched over real HTTP from 127.0.0.1; non-public addresses, redirects, size and time refused."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from background_tasks.status import TaskStatus
from imports.products.sources import resolve_public_address
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

FEED = "id;title;price\nU-1;Théière;24,90 EUR\nU-2;Tasse;6 EUR\n".encode("cp1252")


class FeedHandler(BaseHTTPRequestHandler):
    """A vendor's feed host: a feed, redirects, errors, a slow and an endless answer."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/feed.csv":
            self._send(200, FEED)
        elif self.path == "/redirect":
            self._redirect("/feed.csv")
        elif self.path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif self.path == "/loop":
            self._redirect("/loop")
        elif self.path == "/missing":
            self._send(404, b"not here")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, FEED)
        elif self.path == "/endless":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(2000):
                    self.wfile.write(b"E-1;Sans fin;1 EUR\n" * 100)
            except OSError:
                pass
        else:
            self._send(404, b"")

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_local(settings):
    settings.IMPORTS_ALLOW_PRIVATE_URLS = ["127.0.0.1/32"]


@pytest.fixture
def import_url(vendor, run_on_commit):
    from background_tasks.services import background_task_create
    from imports.models import MarketplaceImportJob

    def run(url):
        job = run_on_commit(
            background_task_create, model=MarketplaceImportJob, triggered_by="manual:test", vendor=vendor, source_url=url
        )
        job.refresh_from_db()
        return job

    return run


def test_feed_is_downloaded_and_imported(import_url, feed_server, allow_local, vendor):
    job = import_url(f"{feed_server}/feed.csv")

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.rows_created == 2
    assert Product.objects.get(vendor=vendor, sku="U-1").title == "Théière"


def test_redirect_is_followed(import_url, feed_server, allow_local, vendor):
    job = import_url(f"{feed_server}/redirect")

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created) == (2, 2)
    assert sorted(Product.objects.filter(vendor=vendor).values_list("sku", "title")) == [("U-1", "Théière"), ("U-2", "Tasse")]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_by_default(import_url, feed_server, host, vendor):
    job = import_url(feed_server.replace("127.0.0.1", host) + "/feed.csv")

    assert job.status == TaskStatus.FAILED
    assert "non-public address" in job.error_message
    assert not Product.objects.filter(vendor=vendor).exists()


def test_redirect_to_the_metadata_address_is_refused(import_url, feed_server, allow_local):
    job = import_url(f"{feed_server}/to-metadata")

    assert job.status == TaskStatus.FAILED
    assert job.error_message == (
        "The feed URL points to a non-public address (169.254.169.254 resolves to 169.254.169.254, link-local); it is refused."
    )


def test_redirect_to_another_scheme_is_refused(import_url, feed_server, allow_local):
    job = import_url(f"{feed_server}/to-file")

    assert job.status == TaskStatus.FAILED
    assert job.error_message == "Only http and https URLs can be imported (got 'file')."


def test_redirect_loop_stops(import_url, feed_server, allow_local):
    job = import_url(f"{feed_server}/loop")

    assert job.error_message == "The feed URL redirected more than 5 times."


def test_http_error_fails_the_job(import_url, feed_server, allow_local):
    job = import_url(f"{feed_server}/missing")

    assert job.status == TaskStatus.FAILED
    assert job.error_message == "The feed URL answered HTTP 404 Not Found."


def test_declared_size_over_the_cap_is_refused(import_url, feed_server, allow_local, settings):
    settings.IMPORTS_MAX_DOWNLOAD_SIZE = 10

    job = import_url(f"{feed_server}/feed.csv")

    assert job.error_message == "The feed is larger than the 10 bytes limit."


def test_streamed_size_over_the_cap_is_refused(import_url, feed_server, allow_local, settings, vendor):
    settings.IMPORTS_MAX_DOWNLOAD_SIZE = 100_000

    job = import_url(f"{feed_server}/endless")

    assert job.error_message == "The feed is larger than the 97.7 KB limit."
    assert not Product.objects.filter(vendor=vendor).exists()


def test_slow_server_times_out(import_url, feed_server, allow_local, settings):
    settings.IMPORTS_DOWNLOAD_TIMEOUT = 0.5

    job = import_url(f"{feed_server}/slow")

    assert job.status == TaskStatus.FAILED
    assert job.error_message == "The feed download timed out (0.5 seconds allowed)."


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.8", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1",
     "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "224.0.0.1"],
)
def test_non_public_addresses_are_refused(address):
    from imports.products.sources import FeedDownloadError

    with pytest.raises(FeedDownloadError, match="non-public address"):
        resolve_public_address(address, 80)


def test_public_address_is_accepted():
    assert resolve_public_address("93.184.215.14", 443) == "93.184.215.14"
