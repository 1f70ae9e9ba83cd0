"""Beat without Celery (USE_CELERY=false): run the due django-celery-beat schedules of the database in-process.

The schedules are the same ``PeriodicTask`` rows Celery beat reads (edited in the admin). Whether an
entry is due is django-celery-beat's own answer (``ModelEntry.is_due``: enabled, start time, expiry,
one-off, then the interval/crontab/solar/clocked maths on ``last_run_at``). Which runner runs a due
entry is decided by the database: a conditional UPDATE of ``last_run_at`` from the value the runner
read (compare-and-swap), so however many web processes or threads look, one of them wins each tick.
A scheduled job type's unique (schedule, tick) constraint is the second guard.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from .conf import task_settings
from .registry import get_task_model

logger = logging.getLogger(__name__)

# The Celery task that beat rows call to start a job of a task type (kwargs {"task_type": ...}).
RUN_SCHEDULED = "background_tasks.run_scheduled"
# The janitor sweeps on its own (every SWEEP_INTERVAL, in each process): its beat row, if any, is for Celery beat.
RUN_BY_JANITOR = frozenset({"background_tasks.sweep"})


@dataclass
class BeatRun:
    """One due entry this runner won: the schedule's name, its task, and the job it started (if a job type)."""

    schedule: str
    task: str
    job_id: int | None = None


def run_due_schedules() -> tuple[list[BeatRun], float]:
    """Run every due schedule this runner wins; return what it ran and the seconds until it should look again."""
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    from .dispatch import celery_app

    app = celery_app()
    ran: list[BeatRun] = []
    next_look = float(task_settings.BEAT_MAX_INTERVAL)
    rows = PeriodicTask.objects.filter(enabled=True).exclude(task__in=RUN_BY_JANITOR).select_related(
        "interval", "crontab", "solar", "clocked"
    )
    for row in rows:
        previous = row.last_run_at
        try:
            entry = ModelEntry(row, app=app)
            due, next_in = entry.is_due()
        except Exception:
            logger.exception("Beat schedule %r cannot be read; skipped", row.name)
            continue
        next_look = min(next_look, max(float(next_in), 0.1))
        if due and _claim(row, previous=previous):
            ran.append(_run_entry(entry))
    return ran, next_look


def _claim(row, *, previous) -> bool:
    """Record the run of ``row`` if its last run is still ``previous``; return whether this runner won the tick."""
    from django_celery_beat.models import PeriodicTask

    rows = PeriodicTask.objects.filter(pk=row.pk, enabled=True)
    rows = rows.filter(last_run_at__isnull=True) if previous is None else rows.filter(last_run_at=previous)
    updates = {"last_run_at": timezone.now(), "total_run_count": F("total_run_count") + 1}
    if row.one_off:
        updates["enabled"] = False  # as Celery beat leaves a one-off schedule once it has run
    # QuerySet.update sends no signal: the change does not count as an edit of the schedule.
    return bool(rows.update(**updates))


def _run_entry(entry) -> BeatRun:
    """Start what a won entry stands for, the way the embedded default runs work: in this process's pool."""
    from . import inprocess

    run = BeatRun(schedule=entry.name, task=entry.task)
    try:
        if entry.task == RUN_SCHEDULED:
            run.job_id = _start_job(entry)
        else:
            inprocess.submit_celery_task(entry.task, args=entry.args, kwargs=entry.kwargs)
    except Exception:
        logger.exception("Beat schedule %r (%s) could not be started", entry.name, entry.task)
    return run


def _start_job(entry) -> int | None:
    from .schedules import scheduled_job_start

    task_type = (entry.kwargs or {}).get("task_type", "")
    model = get_task_model(task_type)
    if model is None:
        logger.error("Beat schedule %r names no known task type (%r)", entry.name, task_type)
        return None
    job = scheduled_job_start(model=model, schedule=entry.name)
    return job.pk if job is not None else None
