"""Where pages of shipments come from (the API or a JSON file), and the thread that fetches them ahead."""
from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable, Iterator

from .letzshop.client import LetzshopClient, ShipmentPage


class FileUnusable(Exception):
    """The uploaded JSON file cannot be read as shipments; the message says why."""


def api_pages(client: LetzshopClient, *, first: int, after: str | None, updated_since: str | None) -> Iterator[ShipmentPage]:
    """Yield the API's pages from ``after`` on, until it says there is no next page."""
    while True:
        page = client.shipments_page(first=first, after=after, updated_since=updated_since)
        yield page
        if not page.has_next or not page.end_cursor or page.end_cursor == after:
            return
        after = page.end_cursor


def read_shipment_file(content: bytes) -> list:
    """Return the shipment nodes of a JSON file: a list of nodes, ``{"nodes": [...]}`` or a whole API answer."""
    try:
        data = json.loads(content)
    except UnicodeDecodeError:
        raise FileUnusable("The file is not UTF-8 text.") from None
    except ValueError as exc:
        raise FileUnusable(f"The file is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if isinstance(data, dict):
        data = (data.get("data") or {}).get("shipments", data) if "data" in data else data
        data = data.get("nodes") if isinstance(data, dict) else data
    if not isinstance(data, list):
        raise FileUnusable('The file holds no shipments: give a JSON list of shipment nodes, or {"nodes": [...]}.')
    return data


def file_pages(nodes: list, *, first: int, after: str | None) -> Iterator[ShipmentPage]:
    """Yield the file's nodes a page at a time; the cursor is the offset reached."""
    start = int(after) if after and after.isdigit() else 0
    for offset in range(start, len(nodes), first):
        end = min(offset + first, len(nodes))
        yield ShipmentPage(nodes=nodes[offset:end], end_cursor=str(end), has_next=end < len(nodes), total_count=len(nodes))


_END = object()
# While a page is read, the writer's Python work holds the interpreter lock; the fetching thread,
# woken by its socket, waits for it up to this long each time (Python's default is 5 ms, several
# times a page). A short interval lets the next request go out as soon as a page is in.
SWITCH_INTERVAL = 0.0005


class _SwitchInterval:
    """Keep the short interval while any run in this process reads pages; the last one out restores it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._runs = 0
        self._saved = sys.getswitchinterval()

    def enter(self) -> None:
        with self._lock:
            if self._runs == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(SWITCH_INTERVAL)
            self._runs += 1

    def leave(self) -> None:
        with self._lock:
            self._runs -= 1
            if self._runs == 0:
                sys.setswitchinterval(self._saved)


_switch_interval = _SwitchInterval()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class Prefetcher:
    """Run a page iterator in a thread, at most ``ahead`` pages ahead of the reader (bounded memory).

    The reader writes a page while the thread already waits on the next one, so a slow API and
    a busy database overlap. ``produce`` receives the stop event and must end when it is set.
    """

    def __init__(self, produce: Callable[[threading.Event], Iterator[ShipmentPage]], *, ahead: int = 2):
        self._produce = produce
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="order-import-fetch", daemon=True)

    def __enter__(self) -> Prefetcher:
        _switch_interval.enter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        while self._thread.is_alive():
            self._drain()
            self._thread.join(0.05)
        _switch_interval.leave()

    def __iter__(self) -> Iterator[ShipmentPage]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item

    def batches(self) -> Iterator[list[ShipmentPage]]:
        """Yield every page fetched so far at once (at least one): a writer that fell behind catches up in one go.

        A failure of the fetching thread is raised after the pages fetched before it are handed over.
        """
        while True:
            batch, item = [], self._queue.get()
            while not (item is _END or isinstance(item, _Failed)):
                batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
                    break
            if batch:
                yield batch
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc

    def _run(self) -> None:
        try:
            for page in self._produce(self.stop_event):
                if not self._put(page):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the reader, which raises it in the job's thread
            self._put(_Failed(exc))

    def _put(self, item) -> bool:
        while not self.stop_event.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
