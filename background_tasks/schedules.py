"""Scheduled starts: which tick of its schedule a beat message belongs to, and its one job per tick."""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from django.db import IntegrityError

from .models import BackgroundTask, ScheduledBackgroundTask

logger = logging.getLogger(__name__)

# The header a beat message carries with the time it was sent (seconds since the epoch).
SENT_AT_HEADER = "background_tasks_sent_at"
# Crontab, solar and clocked schedules fire at most once a minute.
COARSEST_TICK = 60.0


def schedule_period(schedule: str) -> float:
    """Return the seconds between two ticks of the named beat schedule (a minute unless it is an interval)."""
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.select_related("interval").filter(name=schedule).first()
    if task is not None and task.interval is not None:
        return max(task.interval.schedule.run_every.total_seconds(), 1.0)
    return COARSEST_TICK


def schedule_tick(*, schedule: str, sent_at: float | None) -> datetime:
    """Return the tick a message of ``schedule`` sent at ``sent_at`` stands for: that time, truncated to the period."""
    sent = time.time() if sent_at is None else float(sent_at)
    period = schedule_period(schedule)
    return datetime.fromtimestamp(sent - sent % period, tz=UTC)


def scheduled_job_for_message(
    *, model: type[BackgroundTask], task_id: str | None, schedule: str, sent_at: float | None
) -> BackgroundTask:
    """Return the job a beat message stands for, creating it if this message is the first of its tick.

    A redelivered message finds the job it created; a second beat's message of the same tick finds
    the job the first one created (the table's unique (schedule, tick) constraint decides who was first).
    """
    from .services import background_task_create

    if task_id:
        job = model.objects.filter(celery_task_id=task_id).first()
        if job is not None:
            return job
    fields = {}
    if schedule and issubclass(model, ScheduledBackgroundTask):
        fields = {"schedule": schedule, "tick": schedule_tick(schedule=schedule, sent_at=sent_at)}
        stamp = "unstamped" if sent_at is None else f"sent at {float(sent_at):.3f}"
        logger.info("%s: message %s of %r stands for tick %s (%s)", model.task_type, task_id, schedule, fields["tick"], stamp)
    try:
        return background_task_create(
            model=model, triggered_by="scheduled", dispatch=False, celery_task_id=task_id, **fields
        )
    except IntegrityError:
        job = model.objects.filter(**fields).first() if fields else None
        if job is None:
            raise
        return job


def scheduled_job_start(*, model: type[BackgroundTask], schedule: str) -> BackgroundTask | None:
    """Create and dispatch the job of this tick of ``schedule`` (in-process beat); None when the tick has one.

    The tick is now, truncated to the schedule's period, as for a Celery beat message: the unique
    (schedule, tick) constraint keeps a second runner of the same tick from making a second job.
    """
    from .services import background_task_create

    fields = {}
    if issubclass(model, ScheduledBackgroundTask):
        fields = {"schedule": schedule, "tick": schedule_tick(schedule=schedule, sent_at=None)}
    try:
        return background_task_create(model=model, triggered_by="scheduled", **fields)
    except IntegrityError:
        logger.info("%s: tick %s of %r has its job already", model.task_type, fields.get("tick"), schedule)
        return None
