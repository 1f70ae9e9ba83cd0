"""Celery tasks: one per job type (created from the registry), the sweep, and scheduled starts."""
from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import task_prerun
from django.db import InterfaceError, OperationalError, connections

from .registry import celery_task_name, get_task_model, task_models

logger = logging.getLogger(__name__)

_registered: set[str] = set()


@task_prerun.connect(dispatch_uid="background_tasks_drop_broken_connections")
def drop_broken_connections(**kwargs) -> None:
    """Close a kept database connection that failed in an earlier task and is dead.

    CELERY_DB_REUSE_MAX keeps each worker process's connection across tasks; after a
    database restart it would otherwise stay broken for the next thousand tasks.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()


def _run_job(task_type: str, job_id: int, celery_task_id: str) -> str:
    from .services import background_task_run

    model = get_task_model(task_type)
    try:
        return background_task_run(model=model, job_id=job_id, celery_task_id=celery_task_id)
    except (InterfaceError, OperationalError) as exc:
        # The connection kept from an earlier task died before the claim could be written (the
        # job's own errors never get here): reconnect once. A job that had already started is
        # skipped by the claim and left to the reaper.
        logger.warning("%s #%s: database connection lost (%s); reconnecting", task_type, job_id, exc)
        connections.close_all()
        return background_task_run(model=model, job_id=job_id, celery_task_id=celery_task_id)


def _make_job_task(task_type: str):
    def run_job(self, job_id: int) -> str:
        return _run_job(task_type, job_id, self.request.id)

    run_job.__name__ = run_job.__qualname__ = task_type
    run_job.__doc__ = f"Run one {task_type} job, given its id."
    # No STARTED result row: the job row already says running, and a STARTED row of a killed
    # worker would stay STARTED forever. The final result is still stored.
    return shared_task(bind=True, name=celery_task_name(task_type), ignore_result=False, track_started=False)(run_job)


def register_job_tasks() -> None:
    """Create the Celery task of every job type the registry knows (idempotent)."""
    for task_type in task_models():
        if task_type not in _registered:
            _make_job_task(task_type)
            _registered.add(task_type)


@shared_task(name="background_tasks.sweep", ignore_result=True)
def sweep() -> str:
    """Publish jobs that never reached a queue and reap jobs whose worker died."""
    from .sweep import background_tasks_sweep

    return str(background_tasks_sweep())


@shared_task(bind=True, name="background_tasks.run_scheduled")
def run_scheduled(self, task_type: str) -> dict:
    """Create a job of ``task_type`` triggered by the schedule and run it in this worker."""
    from .services import background_task_create, background_task_run

    model = get_task_model(task_type)
    if model is None:
        raise ValueError(f"Unknown task type {task_type!r}")
    # A redelivered beat message (its worker died) resumes the job it created, not a second one.
    job = model.objects.filter(celery_task_id=self.request.id).first() if self.request.id else None
    if job is None:
        job = background_task_create(
            model=model, triggered_by="scheduled", dispatch=False, celery_task_id=self.request.id
        )
    status = background_task_run(model=model, job_id=job.pk, celery_task_id=self.request.id)
    return {"job_id": job.pk, "task_type": task_type, "status": status}
