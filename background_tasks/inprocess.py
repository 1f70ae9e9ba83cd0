"""In-process runner (USE_CELERY=false): a bounded thread pool plus a janitor thread."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

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


def _run_celery_task(name: str, args: list, kwargs: dict) -> None:
    from .dispatch import celery_app

    close_old_connections()
    try:
        task = celery_app().tasks.get(name)
        if task is None:
            logger.error("Beat schedule names task %r, which is not registered", name)
            return
        task.apply(args=args, kwargs=kwargs, throw=False)
    finally:
        connection.close()


def submit_celery_task(name: str, *, args=(), kwargs=None):
    """Run a registered Celery task (not a job type) in the pool, as a worker would; return its future."""
    if task_settings.EAGER:
        return _run_celery_task(name, list(args), dict(kwargs or {}))
    return _get_pool().submit(_run_celery_task, name, list(args), dict(kwargs or {}))


def _sweep(*, first: bool) -> None:
    from .sweep import background_tasks_sweep

    # At start-up whatever this process had queued in memory is gone: publish it again.
    background_tasks_sweep(republish_all_pending=first)


def _beat() -> float:
    """Run the due beat schedules; return the seconds until they should be read again."""
    from .embedded_beat import run_due_schedules

    return run_due_schedules()[1]


def _janitor_step(step, *, default_wait: float) -> float:
    try:
        close_old_connections()
        return step()
    except Exception:
        logger.exception("Background task janitor: %s failed", getattr(step, "__name__", step))
        return default_wait
    finally:
        connection.close()


def _janitor_loop(stop: threading.Event) -> None:
    first = True
    next_sweep = time.monotonic()
    while not stop.is_set():
        if time.monotonic() >= next_sweep:
            _janitor_step(partial(_sweep, first=first), default_wait=0)
            first = False
            next_sweep = time.monotonic() + task_settings.SWEEP_INTERVAL
        wait = next_sweep - time.monotonic()
        if task_settings.EMBEDDED_BEAT:
            wait = min(wait, _janitor_step(_beat, default_wait=task_settings.BEAT_MAX_INTERVAL))
        stop.wait(max(wait, 0.05))


def start_janitor() -> None:
    """Start the thread that re-publishes lost jobs, reaps dead ones and runs the beat schedules (once per process)."""
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
