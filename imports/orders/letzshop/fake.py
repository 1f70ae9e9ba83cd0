"""A fake Letzshop API on loopback: the real schema executed by graphql-core, deterministic data, injected faults."""
from __future__ import annotations

import base64
import bisect
import io
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from graphql import GraphQLError, build_schema

from . import SCHEMA_PATH
from .fake_execution import RAW_NODES, query_compiler
from .query import MAX_PAGE_SIZE

# Faults a real server shows; RANDOM_FAULTS are those a client must survive without losing a shipment.
RANDOM_FAULTS = ("429", "502", "503", "504", "reset", "timeout", "graphql_error")
# "ok" scripts a normal answer (to place a fault on a later request).
SCRIPTED_FAULTS = (*RANDOM_FAULTS, "401", "403", "revoked", "change", "node_error", "ok")
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
STATES = ("unconfirmed", "confirmed", "shipped", "returned", "declined")
DEMO_VENDORS = ("maison-lux", "velo-esch", "epicerie-fine")
FIRST_NAMES = ("Anne", "Luc", "Marie", "Jeff", "Sophie", "Tom", "Claire", "Paul")
LAST_NAMES = ("Schmit", "Muller", "Weber", "Hoffmann", "Wagner", "Becker", "Reuter")
CITIES = (("Luxembourg", "LU"), ("Esch-sur-Alzette", "LU"), ("Metz", "FR"), ("Trier", "DE"), ("Arlon", "BE"))


def demo_key(code: str) -> str:
    """The API key the fake server gives a demo vendor."""
    return f"demo-{code}-key"


def demo_sku(code: str, n: int) -> str:
    """A sku of the demo catalogue (load_demo_data names products the same way)."""
    return f"{code[:3].upper()}-{n:04d}"


def encode_cursor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        stamp, index = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return int(stamp), int(index)
    except Exception:
        raise GraphQLError(f"Invalid cursor: {cursor[:40]}") from None


def iso(seconds: int) -> str:
    return (BASE_TIME + timedelta(seconds=seconds)).isoformat()


@dataclass
class VendorShipments:
    """One vendor's shipments, kept in (updatedAt, index) order; nodes are built on demand."""

    code: str
    count: int
    keys: list[tuple[int, int]] = field(default_factory=list)  # sorted (updated seconds, index)
    versions: dict[int, int] = field(default_factory=dict)  # index -> times changed
    updated: dict[int, int] = field(default_factory=dict)  # index -> updated seconds

    def __post_init__(self):
        for index in range(self.count):
            self.updated[index] = index * 600 + 60
        self.keys = sorted((stamp, index) for index, stamp in self.updated.items())

    def change(self, index: int) -> None:
        """Update a shipment now: it moves to the end of the order (a later page)."""
        self.keys.remove((self.updated[index], index))
        self.updated[index] = self.keys[-1][0] + 1 if self.keys else 1
        self.versions[index] = self.versions.get(index, 0) + 1
        self.keys.append((self.updated[index], index))


@dataclass
class LoggedRequest:
    received: float  # time.monotonic() when the request arrived
    answered: float = 0.0  # when the answer (or the fault) went out
    status: int = 0
    fault: str = ""
    retry_after: int | None = None
    variables: dict = field(default_factory=dict)
    authorization: str = ""


class FakeLetzshop:
    """The fake API's state; ``with FakeLetzshop(...) as server:`` serves it on a free loopback port.

    ``shipments`` is per vendor. ``fault_rate`` injects RANDOM_FAULTS at random (from ``seed``);
    ``script(...)`` queues given faults for the next requests. ``bad_every``: every n-th shipment
    carries an unusable total; ``unknown_sku_every``: every n-th inventory unit an unknown sku.
    """

    def __init__(
        self,
        *,
        vendors: dict[str, str] | None = None,
        shipments: int = 250,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 42,
        retry_after: int = 1,
        slow_seconds: float = 3.0,
        bad_every: int = 0,
        unknown_sku_every: int = 0,
        catalogue_size: int = 40,
        revoked_keys: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.keys = dict(vendors or {code: demo_key(code) for code in DEMO_VENDORS})  # vendor -> key
        self.vendor_of_key = {key: code for code, key in self.keys.items()}
        self.data = {code: VendorShipments(code=code, count=shipments) for code in self.keys}
        self.latency = latency_ms / 1000
        self.fault_rate = fault_rate
        self.seed = seed
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.bad_every = bad_every
        self.unknown_sku_every = unknown_sku_every
        self.catalogue_size = catalogue_size
        self.revoked_keys = set(revoked_keys or ())
        self.requests: list[LoggedRequest] = []
        self.faults_injected: dict[str, int] = {}
        self._scripted: deque[str] = deque()
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()
        self.schema = build_schema(SCHEMA_PATH.read_text())
        self.schema.query_type.fields["shipments"].resolve = self._resolve_shipments
        self.compile_query = query_compiler(self.schema)
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- serving ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/graphql"

    def start(self) -> FakeLetzshop:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(self._address, handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-letzshop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeLetzshop:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve until interrupted (starting first if needed)."""
        if self._httpd is None:
            self.start()
        try:
            self._thread.join()
        finally:
            self.stop()

    # --- faults -------------------------------------------------------------------------------

    def script(self, *faults: str) -> None:
        """Inject these faults, in order, into the next requests (before any random ones)."""
        unknown = set(faults) - set(SCRIPTED_FAULTS)
        if unknown:
            raise ValueError(f"Unknown faults: {sorted(unknown)}")
        with self._lock:
            self._scripted.extend(faults)

    def _next_fault(self) -> str:
        with self._lock:
            if self._scripted:
                fault = self._scripted.popleft()
                if fault == "ok":
                    return ""
            elif self.fault_rate and self._rng.random() < self.fault_rate:
                fault = self._rng.choice(RANDOM_FAULTS)
            else:
                return ""
            self.faults_injected[fault] = self.faults_injected.get(fault, 0) + 1
            return fault

    def change_shipment_seen(self, vendor: str, before: tuple[int, int]) -> int | None:
        """Update one shipment the client has already read (ordered before ``before``); return its index."""
        shipments = self.data[vendor]
        with self._lock:
            position = bisect.bisect_left(shipments.keys, before)
            if position == 0:
                return None
            index = shipments.keys[self._rng.randrange(position)][1]
            shipments.change(index)
            return index

    # --- data ---------------------------------------------------------------------------------

    def shipment_id(self, vendor: str, index: int) -> str:
        return f"{vendor}-S{index:07d}"

    def node(self, vendor: str, index: int) -> dict:
        """Return shipment ``index`` of ``vendor`` as the API shows it (same seed, same shipment)."""
        rng = random.Random(f"{self.seed}:{vendor}:{index}")
        shipments = self.data[vendor]
        version = shipments.versions.get(index, 0)
        created = index * 600
        units = [self._unit(rng, vendor, index, k) for k in range(rng.choice((1, 2, 3, 3, 4, 5)))]
        total = sum(int(unit["variant"]["price"].replace(".", "")) for unit in units)
        city, country = rng.choice(CITIES)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        bad = self.bad_every and index % self.bad_every == self.bad_every - 1
        return {
            "id": self.shipment_id(vendor, index),
            "number": f"H{7468340000 + index}",
            "state": STATES[min(STATES.index(rng.choice(STATES[:2])) + version, 3)],
            "createdAt": iso(created),
            "updatedAt": iso(shipments.updated[index]),
            "order": {
                "id": f"{vendor}-O{index:07d}",
                "number": f"R{532330000 + index}",
                "email": f"{first}.{last}{index}@example.lu".lower(),
                "locale": rng.choice(("fr", "de", "en", "lb")),
                "completedAt": iso(created),
                "currency": "EUR",
                "total": f"{total // 100},{total % 100:02d}" if bad else f"{total // 100}.{total % 100:02d}",
                "shipAddress": {"firstName": first, "lastName": last, "company": None, "city": city,
                                "zipCode": f"L-{1000 + index % 8000}", "country": {"iso": country}},
                "billAddress": None,
            },
            "inventoryUnits": units,
        }

    def _unit(self, rng: random.Random, vendor: str, index: int, k: int) -> dict:
        unit_number = index * 8 + k
        unknown = self.unknown_sku_every and unit_number % self.unknown_sku_every == self.unknown_sku_every - 1
        n = rng.randrange(self.catalogue_size)
        return {
            "id": f"{vendor}-U{index:07d}-{k}",
            "state": "confirmed_available",
            "variant": {
                "id": f"{vendor}-V{n:05d}",
                "sku": f"NOT-IN-CATALOGUE-{n}" if unknown else demo_sku(vendor, n),
                "mpn": None,
                "price": f"{rng.randint(1, 199)}.{rng.randint(0, 99):02d}",
                "tradeId": {"number": f"{4000000000000 + n}", "parser": "ean13"},
                "product": {"name": f"Article {n}"},
            },
        }

    def expected_shipment_ids(self, vendor: str) -> set[str]:
        return {self.shipment_id(vendor, index) for index in range(self.data[vendor].count)}

    def _resolve_shipments(self, _root, info, first, after=None, updatedSince=None, state=None):
        if first < 1 or first > MAX_PAGE_SIZE:
            raise GraphQLError(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
        vendor = info.context["vendor"]
        shipments = self.data[vendor]
        with self._lock:
            keys = shipments.keys
            start = 0
            if updatedSince:
                since = _parse_time(updatedSince)
                start = bisect.bisect_left(keys, (int((since - BASE_TIME).total_seconds()), -1))
            total_from = start
            if after:
                start = max(start, bisect.bisect_right(keys, decode_cursor(after)))
            chosen = keys[start:]
            if state:
                chosen = [key for key in chosen if self.node(vendor, key[1])["state"] == state]
            total = len(keys) - total_from if not state else len(chosen)
            page = chosen[:first]
            nodes = [self.node(vendor, index) for _stamp, index in page]
        info.context[RAW_NODES] = nodes
        if info.context.get("node_error") and nodes:
            nodes[len(nodes) // 2]["order"]["email"] = _raise_field_error
        return {
            "nodes": nodes,
            "totalCount": total,
            "pageInfo": {"hasNextPage": start + len(page) < len(keys) if not state else len(chosen) > first,
                         "endCursor": encode_cursor(page[-1]) if page else after},
        }


def _raise_field_error(info, **kwargs):
    raise GraphQLError("Could not load the customer's e-mail address.")


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Invalid ISO8601DateTime: {value[:40]}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that hung up (it timed out, or was killed) is part of the game, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One API call: check the key, maybe inject a fault, execute the query."""

    fake: FakeLetzshop
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002  (http.server's signature)
        pass  # the request log is kept in FakeLetzshop.requests

    def do_POST(self):
        fake = self.fake
        entry = LoggedRequest(received=time.monotonic())
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        entry.variables = dict(payload.get("variables") or {})
        entry.authorization = self.headers.get("Authorization", "")
        with fake._lock:
            fake.requests.append(entry)
        entry.fault = fault = fake._next_fault()
        if fault in ("reset", "timeout"):
            return self._reset(entry) if fault == "reset" else self._slow(entry, payload)
        if fault in ("429", "502", "503", "504", "401", "403"):
            return self._fault_status(entry, int(fault))
        if fault == "graphql_error":
            return self._send(entry, 200, {"data": None, "errors": [
                {"message": "Internal server error, please retry.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
        self._answer(entry, payload, fault)

    def _answer(self, entry: LoggedRequest, payload: dict, fault: str = "") -> None:
        fake = self.fake
        token = entry.authorization.removeprefix("Bearer ").strip() if entry.authorization.startswith("Bearer ") else ""
        if not token or (token not in fake.vendor_of_key and token not in fake.revoked_keys):
            return self._send(entry, 401, {"errors": [{"message": "Missing or unknown API key."}]},
                              headers={"WWW-Authenticate": "Bearer"})
        if token in fake.revoked_keys or fault == "revoked":
            return self._send(entry, 200, {"data": None, "errors": [
                {"message": "The API key has been revoked.", "extensions": {"code": "UNAUTHENTICATED"}}]})
        vendor = fake.vendor_of_key[token]
        after = entry.variables.get("after")
        if fault == "change" and after:
            fake.change_shipment_seen(vendor, decode_cursor(after))
        context = {"vendor": vendor, "node_error": fault == "node_error"}
        compiled = fake.compile_query(str(payload.get("query") or ""))
        answer = compiled.run(fake.schema, variables=entry.variables, context=context, operation_name=payload.get("operationName"))
        self._send(entry, 200, answer)

    def _fault_status(self, entry: LoggedRequest, status: int) -> None:
        headers = {}
        if status == 429:
            entry.retry_after = self.fake.retry_after
            headers["Retry-After"] = str(self.fake.retry_after)
        messages = {401: "Unauthorized", 403: "Forbidden for this API key", 429: "Too many requests"}
        self._send(entry, status, {"errors": [{"message": messages.get(status, "Bad gateway")}]}, headers=headers)

    def _slow(self, entry: LoggedRequest, payload: dict) -> None:
        time.sleep(self.fake.slow_seconds)
        try:
            self._answer(entry, payload)
        except OSError:
            pass  # the client gave up waiting, as intended

    def _wait_latency(self, entry: LoggedRequest) -> None:
        """Hold the answer until ``latency`` after the request arrived (the server's own work happens within it)."""
        left = entry.received + self.fake.latency - time.monotonic()
        if left > 0:
            time.sleep(left)

    def _reset(self, entry: LoggedRequest) -> None:
        """Close the connection with a TCP reset and no answer."""
        self._wait_latency(entry)
        entry.answered = time.monotonic()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        self.wfile = io.BytesIO()  # finish() flushes it

    def _send(self, entry: LoggedRequest, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self._wait_latency(entry)
        entry.status = status
        entry.answered = time.monotonic()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
