"""What the validators of a scan share within one process: each file parsed once, one ruff run for the lint rules.

"Run all scans" makes three jobs; in one process (the in-process pool, or a worker that runs them
one after another) they share one session while the tree is unchanged: the first validator that
needs a file parses it, and the security and performance validators read one ``ruff check`` run
selecting both rule sets, started in the background as soon as either asks. A session is dropped
LINGER_SECONDS after its last use, or as soon as a Python file under the root changes (its
fingerprint is every file's path, size and modification time).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .base import ParsedFiles, python_files

LINGER_SECONDS = 120.0
# Background work of a session: ruff and the deploy check, each a subprocess waited on by a thread.
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="code-quality")
_LOCK = threading.Lock()
_current: ScanSession | None = None
_timer: threading.Timer | None = None


def fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    """Every Python file under the root (but the always-excluded folders): path, size, modification time."""
    return python_files(root)


class ScanSession:
    """The parsed files of one root at one state, and its background runs (ruff, by argv)."""

    def __init__(self, root: Path, state: dict[str, tuple[int, int]]):
        self.root = root
        self.state = state
        self.parsed = ParsedFiles()
        self.parsed.listing = state
        self.last_used = time.monotonic()
        self._runs: dict[tuple, Future] = {}
        self._lock = threading.Lock()

    def background(self, key: tuple, func, *args) -> Future:
        """Start ``func(*args)`` once per key in this session; every caller gets the same future."""
        with self._lock:
            if key not in self._runs:
                self._runs[key] = _EXECUTOR.submit(func, *args)
            return self._runs[key]


def scan_session(root: Path, *, early: tuple[tuple, Callable[[], object]] | None = None) -> ScanSession:
    """Return the session of ``root`` in its current state (a new one if the files changed or it lingered too long).

    Scans that ask while another one lists the files take that listing (it began before they asked).
    ``early`` is a background run (key, function) the caller will ask the session for: when no
    session of this root is current, it starts before the listing, so it runs while Python lists.
    """
    root = Path(root).resolve()
    with _LOCK:
        listing = _listings.get(root)
        if listing is None:
            listing = _listings[root] = _Listing()
            cold = _current is None or _current.root != root
            listing.early = (early[0], _EXECUTOR.submit(early[1])) if early and cold else None
            lister = True
        else:
            lister = False
    if lister:
        try:
            listing.session = _session_for(root, fingerprint(root), listing.early)
        finally:
            with _LOCK:
                del _listings[root]
            listing.done.set()
    else:
        listing.done.wait()
    if listing.session is None:  # the listing failed in the other scan: list here
        return scan_session(root, early=early)
    return listing.session


class _Listing:
    """A listing of a root's files in progress, and the session it found."""

    def __init__(self):
        self.done = threading.Event()
        self.session: ScanSession | None = None
        self.early: tuple[tuple, Future] | None = None


_listings: dict[Path, _Listing] = {}


def _session_for(root: Path, state: dict, early: tuple[tuple, Future] | None) -> ScanSession:
    global _current
    with _LOCK:
        now = time.monotonic()
        stale = _current is None or _current.root != root or _current.state != state
        if stale or now - _current.last_used > LINGER_SECONDS:
            _current = ScanSession(root, state)
        if early is not None:
            _current._runs.setdefault(*early)
        _current.last_used = now
        _schedule_drop()
        return _current


def forget_sessions() -> None:
    """Drop the current session (its parsed files go with it): the next scan starts cold."""
    global _current
    with _LOCK:
        _current = None


def start_in_background(func, *args) -> Future:
    """Run a session-less piece of a validator (the deploy check) beside the rest."""
    return _EXECUTOR.submit(func, *args)


def _schedule_drop() -> None:
    global _timer
    if _timer is not None:
        _timer.cancel()
    _timer = threading.Timer(LINGER_SECONDS + 1, _drop_if_idle)
    _timer.daemon = True
    _timer.start()


def _drop_if_idle() -> None:
    global _current
    with _LOCK:
        if _current is not None and time.monotonic() - _current.last_used > LINGER_SECONDS:
            _current = None
