"""The Letzshop API client: one POST per page, timeouts on every call, retries with backoff, the key kept secret."""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from ..conf import orders_settings
from .query import SHIPMENTS_QUERY

logger = logging.getLogger(__name__)

AUTH_ERROR_CODES = {"UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN", "INVALID_TOKEN", "AUTHENTICATION_ERROR"}
RETRYABLE_STATUSES = {500, 502, 503, 504}


class LetzshopError(Exception):
    """The API cannot be used for this import; the message is readable and never holds the key."""


class LetzshopAuthError(LetzshopError):
    """The API refused the vendor's key: retrying cannot help."""


class LetzshopUnavailable(LetzshopError):
    """The API kept failing until the retries ran out."""


class LetzshopStopped(Exception):
    """The reader was told to stop (the job ends) while it waited."""


class _Transient(Exception):
    """A failure worth another attempt after a pause."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class ShipmentPage:
    nodes: list[dict]
    end_cursor: str | None
    has_next: bool
    total_count: int
    # Index in ``nodes`` -> the API's error about a field of that shipment.
    node_errors: dict[int, str] = field(default_factory=dict)


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    rate_limit_wait: float = 0.0
    faults: Counter = field(default_factory=Counter)


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class LetzshopClient:
    """Read a vendor's shipments page by page; one instance per import (it keeps a connection open)."""

    def __init__(self, *, api_key: str, url: str, stop_event: threading.Event | None = None):
        self._key = api_key
        self.url = url
        self.stats = ClientStats()
        self._stop = stop_event or threading.Event()
        timeout = httpx.Timeout(
            connect=orders_settings.CONNECT_TIMEOUT,
            read=orders_settings.READ_TIMEOUT,
            write=orders_settings.READ_TIMEOUT,
            pool=orders_settings.CONNECT_TIMEOUT,
        )
        self._http = httpx.Client(
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LetzshopClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def shipments_page(self, *, first: int, after: str | None = None, updated_since: str | None = None) -> ShipmentPage:
        """Return one page of shipments, retrying what a retry can fix; raise LetzshopError otherwise."""
        variables = {"first": first, "after": after, "updatedSince": updated_since}
        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(orders_settings.MAX_ATTEMPTS),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            retry_error_callback=self._gave_up,
        )
        return retrying(self._post, variables)

    # --- one attempt --------------------------------------------------------------------------

    def _post(self, variables: dict) -> ShipmentPage:
        self.stats.requests += 1
        try:
            response = self._http.post(self.url, json={"query": SHIPMENTS_QUERY, "variables": variables})
        except httpx.TimeoutException:
            raise _Transient("no answer within the timeout") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({exc.__class__.__name__})") from None
        status = response.status_code
        if status == 429:
            raise _Transient("429 Too Many Requests", parse_retry_after(response.headers.get("Retry-After")))
        if status in (401, 403):
            raise LetzshopAuthError(
                f"The Letzshop API refused the vendor's API key ({status} {response.reason_phrase}): "
                "set a valid key for this vendor and run the import again."
            )
        if status in RETRYABLE_STATUSES:
            raise _Transient(f"{status} {response.reason_phrase}", parse_retry_after(response.headers.get("Retry-After")))
        if status != 200:
            raise LetzshopError(f"The Letzshop API answered {status} {response.reason_phrase}.")
        try:
            body = response.json()
        except ValueError:
            raise _Transient("an answer that is not JSON") from None
        return self._page(body)

    def _page(self, body: dict) -> ShipmentPage:
        errors = body.get("errors") or []
        for error in errors:
            if _is_auth_error(error):
                raise LetzshopAuthError(
                    f"The Letzshop API refused the vendor's API key: {self._scrub(error.get('message', ''))} "
                    "Set a valid key for this vendor and run the import again."
                )
        connection = (body.get("data") or {}).get("shipments")
        if connection is None:
            messages = "; ".join(self._scrub(str(e.get("message", ""))) for e in errors) or "no data"
            if any("locations" in e and "path" not in e for e in errors):
                raise LetzshopError(f"The Letzshop API rejected the query: {messages}")
            raise _Transient(f"GraphQL error: {messages}")
        node_errors = {}
        for error in errors:
            path = error.get("path") or []
            if len(path) > 2 and path[:2] == ["shipments", "nodes"] and isinstance(path[2], int):
                node_errors[path[2]] = self._scrub(str(error.get("message", "field error")))
        page_info = connection.get("pageInfo") or {}
        return ShipmentPage(
            nodes=list(connection.get("nodes") or []),
            end_cursor=page_info.get("endCursor"),
            has_next=bool(page_info.get("hasNextPage")),
            total_count=int(connection.get("totalCount") or 0),
            node_errors=node_errors,
        )

    def _scrub(self, text: str) -> str:
        """Remove the key from text the server wrote (an error message may echo it)."""
        return text.replace(self._key, "[key]") if self._key else text

    # --- retry policy -------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            if exc.retry_after > orders_settings.MAX_RETRY_AFTER:
                raise LetzshopUnavailable(
                    f"The Letzshop API asked to wait {exc.retry_after:.0f}s before the next call "
                    f"(more than the {orders_settings.MAX_RETRY_AFTER:.0f}s allowed); run the import again later."
                )
            return exc.retry_after
        backoff = wait_exponential_jitter(
            multiplier=orders_settings.BACKOFF_INITIAL, max=orders_settings.BACKOFF_MAX, jitter=orders_settings.BACKOFF_JITTER
        )
        return backoff(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception()
        self.stats.retries += 1
        self.stats.faults[exc.reason] += 1
        if exc.retry_after is not None:
            self.stats.rate_limit_wait += state.upcoming_sleep
        if self.stats.retries > orders_settings.MAX_TOTAL_RETRIES:
            raise LetzshopUnavailable(
                f"The Letzshop API failed too often: {self.stats.retries - 1} retries over this import "
                f"(last: {exc.reason}); run the import again later."
            )
        logger.warning("Letzshop API call failed (%s); attempt %s again in %.2fs",
                       exc.reason, state.attempt_number + 1, state.upcoming_sleep)

    def _sleep(self, seconds: float) -> None:
        """Wait at least ``seconds`` (never less: a Retry-After is a floor), unless told to stop."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.wait(left):
                raise LetzshopStopped()

    def _gave_up(self, state: RetryCallState):
        exc = state.outcome.exception()
        raise LetzshopUnavailable(
            f"The Letzshop API could not be reached after {state.attempt_number} attempts "
            f"(last: {exc.reason}); run the import again later."
        )


def _is_auth_error(error: dict) -> bool:
    code = str((error.get("extensions") or {}).get("code", "")).upper()
    return code in AUTH_ERROR_CODES
