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


def _networks(*cidrs: str) -> tuple:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Special-purpose IPv4 ranges (IANA registry), refused whatever the running Python's is_global says.
_NON_PUBLIC_V4 = (
    ("this network", _networks("0.0.0.0/8")),
    ("private", _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("shared address space", _networks("100.64.0.0/10")),
    ("loopback", _networks("127.0.0.0/8")),
    ("link-local", _networks("169.254.0.0/16")),
    ("IETF protocol assignments", _networks("192.0.0.0/24")),
    ("documentation", _networks("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),
    ("6to4 relay", _networks("192.88.99.0/24")),
    ("benchmarking", _networks("198.18.0.0/15")),
    ("multicast", _networks("224.0.0.0/4")),
    ("reserved", _networks("240.0.0.0/4")),
)
# IPv6 ranges refused outright. The transition forms (IPv4-compatible, local-use NAT64, 6to4,
# Teredo) lead to an IPv4 address a relay chooses: no feed host needs them.
_NON_PUBLIC_V6 = (
    ("unspecified", _networks("::/128")),
    ("loopback", _networks("::1/128")),
    ("IPv4-compatible", _networks("::/96")),
    ("local-use NAT64", _networks("64:ff9b:1::/48")),
    ("discard-only", _networks("100::/64")),
    ("Teredo", _networks("2001::/32")),
    ("IETF protocol assignments", _networks("2001::/23")),
    ("documentation", _networks("2001:db8::/32", "3fff::/20")),
    ("6to4", _networks("2002::/16")),
    ("segment routing", _networks("5f00::/16")),
    ("unique-local", _networks("fc00::/7")),
    ("link-local", _networks("fe80::/10")),
    ("site-local", _networks("fec0::/10")),
    ("multicast", _networks("ff00::/8")),
)
_MAPPED_V4 = ipaddress.ip_network("::ffff:0:0/96")
# The well-known NAT64 prefix: DNS64 networks reach public IPv4 hosts through it, so it is judged
# by the IPv4 address it carries (64:ff9b::a9fe:a9fe is the cloud metadata address).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if address in _MAPPED_V4:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _with_tunnel_endpoint(label: str, address) -> str:
    """Name the IPv4 address a 6to4 or Teredo address leads to: it says where the request would go."""
    if label == "6to4":
        return f"6to4 form of {address.sixtofour}"
    if label == "Teredo":
        return f"Teredo form of {address.teredo[1]}"
    if label == "IPv4-compatible":
        return f"IPv4-compatible form of {ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)}"
    return label


def refusal_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Return why ``address`` is not plainly public (e.g. "loopback", "6to4"), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            form, ipv4 = embedded
            reason = refusal_reason(ipv4)
            return f"{form} form of {ipv4}, {reason}" if reason else None
        ranges = _NON_PUBLIC_V6
    else:
        ranges = _NON_PUBLIC_V4
    for label, networks in ranges:
        if any(address in network for network in networks):
            return _with_tunnel_endpoint(label, address)
    if address.is_multicast:
        return "multicast"
    # Whatever else the standard library knows is not global (loopback, unspecified, reserved...).
    return None if address.is_global else "not globally routable"


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
        reason = refusal_reason(address)
        if reason and not (allowed and any(address in net for net in allowed)):
            raise FeedDownloadError(
                f"The feed URL points to a non-public address ({host} resolves to {address}, {reason}); it is refused."
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
