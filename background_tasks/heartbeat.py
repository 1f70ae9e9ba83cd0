"""One thread per process that keeps the heartbeat of every job running in that process."""
from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from .conf import task_settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_running: dict[type, set[int]] = defaultdict(set)
_wakeup = threading.Event()
_thread: threading.Thread | None = None
_thread_pid: int | None = None


def _beat_once() -> None:
    with _lock:
        snapshot = {model: set(ids) for model, ids in _running.items() if ids}
    now = timezone.now()
    for model, ids in snapshot.items():
        model.objects.running().filter(pk__in=ids).update_bookkeeping(heartbeat_at=now)


def _loop() -> None:
    while True:
        _wakeup.wait(task_settings.HEARTBEAT_INTERVAL)
        _wakeup.clear()
        try:
            _beat_once()
        except Exception:  # the beat must outlive a database blip
            logger.exception("Heartbeat write failed")
        finally:
            # Hold no connection between beats: an idle one per process blocks dropping a database.
            connection.close()


def _ensure_thread() -> None:
    global _thread, _thread_pid
    # A forked worker child does not inherit the parent's thread: start one per process.
    if _thread is not None and _thread_pid == os.getpid() and _thread.is_alive():
        return
    _thread = threading.Thread(target=_loop, name="background-tasks-heartbeat", daemon=True)
    _thread_pid = os.getpid()
    _thread.start()


@contextmanager
def beating(job):
    """Keep the heartbeat of ``job`` while the block runs."""
    model = type(job)
    with _lock:
        _ensure_thread()
        _running[model].add(job.pk)
    try:
        yield
    finally:
        with _lock:
            _running[model].discard(job.pk)
