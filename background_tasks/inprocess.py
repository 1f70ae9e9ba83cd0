"""In-process runner (USE_CELERY=false): a bounded thread pool plus a janitor thread."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection

from .conf import task_settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_janitor: threading.Thread | None = None
_janitor_stop: threading.Event | None = None


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=task_settings.INPROCESS_WORKERS, thread_name_prefix="background-task"
            )
        return _pool


def _run(model, job_id: int) -> None:
    from .services import background_task_run

    close_old_connections()
    try:
        background_task_run(model=model, job_id=job_id)
    except Exception:
        logger.exception("In-process job %s #%s crashed outside its work", model.task_type, job_id)
    finally:
        connection.close()


def submit(model, job_id: int):
    """Queue a job on the pool; return its future."""
    return _get_pool().submit(_run, model, job_id)


def shutdown(*, wait: bool = True) -> None:
    """Stop the pool, after its queued and running jobs when ``wait`` (a later submit starts a new one)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait)


def _janitor_loop(stop: threading.Event) -> None:
    from .sweep import background_tasks_sweep

    first = True
    while not stop.wait(0 if first else task_settings.SWEEP_INTERVAL):
        try:
            close_old_connections()
            # At start-up whatever this process had queued in memory is gone: publish it again.
            background_tasks_sweep(republish_all_pending=first)
        except Exception:
            logger.exception("Background task sweep failed")
        finally:
            connection.close()
        first = False


def start_janitor() -> None:
    """Start the thread that re-publishes lost jobs and reaps dead ones (once per process)."""
    global _janitor, _janitor_stop
    with _lock:
        if _janitor is not None and _janitor.is_alive():
            return
        _janitor_stop = threading.Event()
        _janitor = threading.Thread(
            target=_janitor_loop, args=(_janitor_stop,), name="background-tasks-janitor", daemon=True
        )
        _janitor.start()


def stop_janitor(timeout: float | None = None) -> None:
    """Stop the janitor thread (tests, orderly shutdown) and wait for its current sweep."""
    global _janitor
    with _lock:
        thread, stop = _janitor, _janitor_stop
        _janitor = None
    if thread is not None and stop is not None:
        stop.set()
        thread.join(timeout)
