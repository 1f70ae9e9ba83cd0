"""Fetch a feed URL safely: http(s) only, public addresses only (checked per hop), capped in size and time."""
from __future__ import annotations

import http.client
import ipaddress
import socket
import time
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from ..conf import human_size, imports_settings

ALLOWED_SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_READ_SIZE = 64 * 1024


class FeedDownloadError(Exception):
    """The feed could not be fetched; the message says why."""


def validate_feed_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host; raise ValueError with a readable message."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValueError(f"Only http and https URLs can be imported (got '{parts.scheme or 'no scheme'}').")
    if not parts.hostname:
        raise ValueError("The URL has no host name.")
    if parts.username or parts.password:
        raise ValueError("URLs with a user name or password are not accepted.")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError("The URL has an invalid port.") from None
    return url.strip()


def _allowed_networks() -> list | None:
    """None: only public addresses. Otherwise the private networks a setting opens (True: all)."""
    setting = imports_settings.ALLOW_PRIVATE_URLS
    if setting is True:
        return [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    if not setting:
        return None
    return [ipaddress.ip_network(net, strict=False) for net in setting]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # is_global excludes loopback, private, link-local (cloud metadata 169.254.169.254),
    # shared (100.64/10), reserved and unspecified ranges.
    return address.is_global and not address.is_multicast


def resolve_public_address(host: str, port: int) -> str:
    """Resolve ``host`` and return the address to connect to; refuse it if any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedDownloadError(f"The feed host '{host}' could not be resolved ({exc}).") from None
    allowed = _allowed_networks()
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _is_public(address) and not (allowed and any(address in net for net in allowed)):
            raise FeedDownloadError(
                f"The feed URL points to a non-public address ({host} resolves to {address}); it is refused."
            )
        addresses.append(str(address))
    if not addresses:
        raise FeedDownloadError(f"The feed host '{host}' has no address.")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever DNS answers later (no rebinding)."""

    address = ""

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedHTTPConnection):
    """HTTPS on the checked address; the certificate is verified for the URL's host name."""


def download_feed(url: str, destination: BinaryIO, *, on_progress=None) -> int:
    """Stream ``url`` into ``destination``, following redirects; return the bytes written."""
    max_bytes = imports_settings.MAX_DOWNLOAD_SIZE
    timeout = float(imports_settings.DOWNLOAD_TIMEOUT)
    deadline = time.monotonic() + timeout
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            validate_feed_url(url)
        except ValueError as exc:
            raise FeedDownloadError(str(exc)) from None
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        port = parts.port or (443 if https else 80)
        address = resolve_public_address(parts.hostname, port)
        remaining = max(0.1, deadline - time.monotonic())
        conn_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        conn = conn_class(parts.hostname, port, timeout=min(remaining, 60.0))
        conn.address = address
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", path, headers={"User-Agent": "Wizamart-feed-import/1.0", "Accept-Encoding": "identity"})
            response = conn.getresponse()
            if response.status in REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise FeedDownloadError(f"The feed URL redirected (HTTP {response.status}) without a location.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FeedDownloadError(f"The feed URL answered HTTP {response.status} {response.reason}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FeedDownloadError(f"The feed is larger than the {human_size(max_bytes)} limit.")
            written = 0
            while chunk := response.read(_READ_SIZE):
                written += len(chunk)
                if written > max_bytes:
                    raise FeedDownloadError(f"The feed is larger than the {human_size(max_bytes)} limit.")
                if time.monotonic() > deadline:
                    raise FeedDownloadError(f"The feed download took longer than {timeout:g} seconds.")
                destination.write(chunk)
                if on_progress:
                    on_progress(written)
            return written
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError | socket.timeout):
                raise FeedDownloadError(f"The feed download timed out ({timeout:g} seconds allowed).") from None
            raise FeedDownloadError(f"The feed could not be downloaded: {exc.__class__.__name__}: {exc}".rstrip(": ")) from None
        finally:
            conn.close()
    raise FeedDownloadError(f"The feed URL redirected more than {MAX_REDIRECTS} times.")
