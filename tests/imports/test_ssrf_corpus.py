"""Hostile feed URLs: each is refused with a readable reason and none reaches a listener on loopback."""
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from background_tasks.status import TaskStatus
from imports.products.sources import FeedDownloadError, download_feed

NON_PUBLIC = "The feed URL points to a non-public address"
NOT_RESOLVED = "could not be resolved"
USERINFO = "URLs with a user name or password are not accepted."

# (URL with {port} for the listener's port, what the error must say). Ports other than {port} are
# addresses nothing listens on here; they must be refused all the same.
CORPUS = [
    # IPv4 loopback spelt every way inet_aton accepts.
    ("http://127.0.0.1:{port}/feed.csv", "resolves to 127.0.0.1, loopback"),
    ("https://127.0.0.1:{port}/feed.csv", "resolves to 127.0.0.1, loopback"),
    ("http://127.1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://127.0.1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://2130706433:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://0x7f000001:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://0x7f.0x0.0x0.0x1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://0x7f.1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://0177.0.0.1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://0177.0000.0000.0001:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://017700000001:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://127.000.000.001:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://127.255.255.254:{port}/", "resolves to 127.255.255.254, loopback"),
    ("http://0:{port}/", "resolves to 0.0.0.0, this network"),
    ("http://0.0.0.0:{port}/", "resolves to 0.0.0.0, this network"),
    ("http://localhost:{port}/", "loopback"),
    ("http://LOCALHOST:{port}/", "loopback"),
    ("  http://127.0.0.1:{port}/  ", "resolves to 127.0.0.1, loopback"),
    ("http://127.0.0.1\t:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://127.0.0.1:{port}#@example.com/", "resolves to 127.0.0.1, loopback"),
    # Trailing dots and percent-encoding: not a name the resolver knows here.
    ("http://127.0.0.1.:{port}/", "127.0.0.1."),
    ("http://localhost.:{port}/", "localhost."),
    ("http://%31%32%37.0.0.1:{port}/", NOT_RESOLVED),
    ("http://loc%61lhost:{port}/", NOT_RESOLVED),
    ("http://127.0.0.1%00.example.com:{port}/", NOT_RESOLVED),
    # User-info tricks.
    ("http://example.com@127.0.0.1:{port}/", USERINFO),
    ("http://user:secret@127.0.0.1:{port}/", USERINFO),
    ("http://example.com:80@127.0.0.1:{port}/", USERINFO),
    ("http://127.0.0.1:{port}\\@example.com/", USERINFO),
    ("http://example.com\\@127.0.0.1:{port}/", USERINFO),
    # Internationalised names that normalise to loopback.
    ("http://①②⑦.0.0.1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://127。0。0。1:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{port}/", "resolves to 127.0.0.1, loopback"),
    ("http://ｌｏｃａｌｈｏｓｔ:{port}/", "resolves to 127.0.0.1, loopback"),
    # IPv6 loopback and unspecified.
    ("http://[::1]:{port}/", "resolves to ::1, loopback"),
    ("http://[0:0:0:0:0:0:0:1]:{port}/", "resolves to ::1, loopback"),
    ("http://[::]:{port}/", "resolves to ::, unspecified"),
    # IPv4-mapped and IPv4-compatible.
    ("http://[::ffff:127.0.0.1]:{port}/", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("http://[::ffff:7f00:1]:{port}/", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("http://[::ffff:169.254.169.254]/", "IPv4-mapped form of 169.254.169.254, link-local"),
    ("http://[::ffff:10.0.0.1]/", "IPv4-mapped form of 10.0.0.1, private"),
    ("http://[::127.0.0.1]:{port}/", "IPv4-compatible form of 127.0.0.1"),
    ("http://[::7f00:1]:{port}/", "IPv4-compatible form of 127.0.0.1"),
    ("http://[::5db8:d70e]/", "IPv4-compatible form of 93.184.215.14"),
    # NAT64: the well-known prefix judged by the IPv4 it carries, the local-use prefix refused.
    ("http://[64:ff9b::7f00:1]:{port}/", "NAT64 form of 127.0.0.1, loopback"),
    ("http://[64:ff9b::127.0.0.1]:{port}/", "NAT64 form of 127.0.0.1, loopback"),
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "NAT64 form of 169.254.169.254, link-local"),
    ("http://[64:ff9b::a00:1]/", "NAT64 form of 10.0.0.1, private"),
    ("http://[64:ff9b::c000:201]/", "NAT64 form of 192.0.2.1, documentation"),
    ("http://[64:ff9b:1::7f00:1]:{port}/", "local-use NAT64"),
    ("http://[64:ff9b:1::5db8:d70e]/", "local-use NAT64"),
    # 6to4 and Teredo.
    ("http://[2002:7f00:1::]:{port}/", "6to4 form of 127.0.0.1"),
    ("http://[2002:a9fe:a9fe::1]/", "6to4 form of 169.254.169.254"),
    ("http://[2002:5db8:d70e::1]/", "6to4 form of 93.184.215.14"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/", "Teredo form of 127.0.0.1"),
    ("http://[2001::1]/", "Teredo"),
    # Site-local, unique-local, link-local, multicast, documentation, other special ranges.
    ("http://[fec0::1]:{port}/", "site-local"),
    ("http://[feff::1]/", "site-local"),
    ("http://[fc00::1]/", "unique-local"),
    ("http://[fd00:ec2::254]/", "unique-local"),
    ("http://[fe80::1]:{port}/", "link-local"),
    ("http://[fe80::1%25lo]:{port}/", NOT_RESOLVED),
    ("http://[ff02::1]/", "multicast"),
    ("http://[ff05::1:3]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[3fff::1]/", "documentation"),
    ("http://[100::1]/", "discard-only"),
    ("http://[2001:10::1]/", "IETF protocol assignments"),
    ("http://[5f00::1]/", "segment routing"),
    # IPv4 special ranges, the cloud metadata address in three spellings.
    ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254, link-local"),
    ("http://2852039166/", "resolves to 169.254.169.254, link-local"),
    ("http://0xa9fea9fe/", "resolves to 169.254.169.254, link-local"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://100.64.0.1/", "shared address space"),
    ("http://192.0.0.170/", "IETF protocol assignments"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.51.100.1/", "documentation"),
    ("http://203.0.113.1/", "documentation"),
    ("http://192.88.99.1/", "6to4 relay"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    # Other schemes and malformed URLs.
    ("file:///etc/passwd", "Only http and https URLs can be imported (got 'file')."),
    ("gopher://127.0.0.1:{port}/", "Only http and https URLs can be imported (got 'gopher')."),
    ("ftp://127.0.0.1:{port}/", "Only http and https URLs can be imported (got 'ftp')."),
    ("//127.0.0.1:{port}/", "Only http and https URLs can be imported (got 'no scheme')."),
    ("http:///127.0.0.1/", "The URL has no host name."),
    ("http://127.0.0.1:99999/", "The URL has an invalid port."),
]


class Listener:
    """Sockets on 127.0.0.1 and ::1 (same port) that accept nothing: any connection stays queued."""

    def __init__(self):
        self.sockets = [socket.create_server(("127.0.0.1", 0), backlog=64)]
        self.port = self.sockets[0].getsockname()[1]
        try:
            self.sockets.append(socket.create_server(("::1", self.port), family=socket.AF_INET6, backlog=64))
        except OSError:
            pass  # no IPv6 loopback here: the IPv4 listener still catches what reaches it
        for sock in self.sockets:
            sock.setblocking(False)

    def connections(self) -> int:
        """Return how many connections arrived since the last call (taking them off the queue)."""
        count = 0
        for sock in self.sockets:
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                count += 1
        return count

    def close(self):
        for sock in self.sockets:
            sock.close()


@pytest.fixture(scope="module")
def _listener():
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def listener(_listener):
    _listener.connections()  # each test counts only its own connections
    return _listener


@pytest.fixture
def short_timeout(settings):
    settings.IMPORTS_DOWNLOAD_TIMEOUT = 2.0


def test_the_corpus_is_large():
    assert len(CORPUS) >= 60
    assert len({url for url, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("url", "expected"), CORPUS, ids=[url.strip() for url, _ in CORPUS])
def test_hostile_url_is_refused_before_any_connection(url, expected, listener, short_timeout):
    with pytest.raises(FeedDownloadError) as refused:
        download_feed(url.format(port=listener.port), io.BytesIO())

    message = str(refused.value)
    assert expected in message
    assert "\n" not in message and message.endswith(".")
    assert listener.connections() == 0


def test_the_listener_sees_a_connection_that_is_let_through(listener, settings):
    """The check above can fail: a URL the setting allows does reach the listener."""
    settings.IMPORTS_ALLOW_PRIVATE_URLS = ["127.0.0.1/32"]
    settings.IMPORTS_DOWNLOAD_TIMEOUT = 0.3

    with pytest.raises(FeedDownloadError, match="timed out"):
        download_feed(f"http://127.0.0.1:{listener.port}/feed.csv", io.BytesIO())

    assert listener.connections() == 1


@pytest.mark.parametrize(
    "url",
    ["http://[::ffff:127.0.0.1]:{port}/", "http://[::1]:{port}/", "http://[64:ff9b::7f00:1]:{port}/", "http://0:{port}/"],
)
def test_allowing_127_0_0_1_does_not_allow_its_other_forms(url, listener, settings, short_timeout):
    settings.IMPORTS_ALLOW_PRIVATE_URLS = ["127.0.0.1/32"]

    with pytest.raises(FeedDownloadError, match=NON_PUBLIC):
        download_feed(url.format(port=listener.port), io.BytesIO())

    assert listener.connections() == 0


class RedirectHandler(BaseHTTPRequestHandler):
    """Redirects to whatever the path names after /to/ (the listener's port filled in)."""

    target_port = 0

    def do_GET(self):  # noqa: N802 - http.server's naming
        from urllib.parse import unquote

        self.send_response(302)
        self.send_header("Location", unquote(self.path.removeprefix("/to/")).format(port=self.target_port))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector(listener):
    handler = type("Handler", (RedirectHandler,), {"target_port": listener.port})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/to/"
    server.shutdown()
    server.server_close()


REDIRECT_TARGETS = [
    ("http://[::ffff:127.0.0.1]:{port}/", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("http://[::127.0.0.1]:{port}/", "IPv4-compatible form of 127.0.0.1"),
    ("http://[64:ff9b::7f00:1]:{port}/", "NAT64 form of 127.0.0.1, loopback"),
    ("http://[2002:7f00:1::]:{port}/", "6to4 form of 127.0.0.1"),
    ("http://[fec0::1]:{port}/", "site-local"),
    ("http://[::1]:{port}/", "loopback"),
    ("http://0.0.0.0:{port}/", "this network"),
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "NAT64 form of 169.254.169.254, link-local"),
]


@pytest.mark.parametrize(("target", "expected"), REDIRECT_TARGETS)
def test_redirect_to_a_hostile_address_is_refused(target, expected, redirector, listener, settings, short_timeout):
    # The feed host itself is allowed (127.0.0.1); where it redirects is checked again.
    settings.IMPORTS_ALLOW_PRIVATE_URLS = ["127.0.0.1/32"]
    from urllib.parse import quote

    with pytest.raises(FeedDownloadError) as refused:
        download_feed(redirector + quote(target, safe=""), io.BytesIO())

    assert NON_PUBLIC in str(refused.value) and expected in str(refused.value)
    assert listener.connections() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://[::127.0.0.1]:{port}/", "IPv4-compatible form of 127.0.0.1"),
        ("http://[64:ff9b::7f00:1]:{port}/", "NAT64 form of 127.0.0.1, loopback"),
        ("http://[2002:7f00:1::]:{port}/", "6to4 form of 127.0.0.1"),
        ("http://[fec0::1]:{port}/", "site-local"),
    ],
)
def test_import_job_fails_with_the_reason(url, expected, listener, vendor, run_on_commit):
    """The four URLs the probe found fail the import job itself with a readable message."""
    from background_tasks.services import background_task_create
    from imports.models import MarketplaceImportJob

    job = run_on_commit(
        background_task_create,
        model=MarketplaceImportJob,
        triggered_by="manual:test",
        vendor=vendor,
        source_url=url.format(port=listener.port),
    )
    job.refresh_from_db()

    assert job.status == TaskStatus.FAILED
    assert NON_PUBLIC in job.error_message and expected in job.error_message
    assert listener.connections() == 0
