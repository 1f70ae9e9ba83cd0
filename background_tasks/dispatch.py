"""Hand a job to whatever runs it: a Celery queue, or the in-process pool, after commit."""
from __future__ import annotations

import logging
import uuid
from functools import partial

from django.db import transaction
from django.utils import timezone

from .conf import task_settings, use_celery
from .models import BackgroundTask
from .registry import celery_task_name

logger = logging.getLogger(__name__)

QUEUED = "Queued"
REQUEUED_AFTER_LOSS = "Re-queued after the task queue lost the job"
WAITING_FOR_QUEUE = "Waiting for the task queue (broker unreachable); it will be sent when the queue is back"


def background_task_dispatch(job: BackgroundTask) -> None:
    """Publish ``job`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(background_task_publish, type(job), job.pk), robust=True)


def celery_app():
    """Return the project's Celery app: the one it made current (no import of the project)."""
    from celery import current_app

    return current_app._get_current_object()


def background_task_publish(model: type[BackgroundTask], job_id: int, *, message: str = QUEUED) -> bool:
    """Send a pending job to its runner now; on failure leave it pending for the sweep."""
    if use_celery():
        return _publish_to_celery(model, job_id, message=message)
    from . import inprocess

    if task_settings.EAGER:
        model.objects.pending().filter(pk=job_id).update_bookkeeping(queued_at=timezone.now())
        from .services import background_task_run

        background_task_run(model=model, job_id=job_id)
        return True
    model.objects.pending().filter(pk=job_id).update_bookkeeping(queued_at=timezone.now())
    inprocess.submit(model, job_id)
    return True


def _publish_to_celery(model: type[BackgroundTask], job_id: int, *, message: str) -> bool:
    task_id = str(uuid.uuid4())
    try:
        celery_app().send_task(
            celery_task_name(model.task_type),
            args=[job_id],
            queue=model.queue,
            task_id=task_id,
            retry=False,
        )
    except Exception as exc:  # kombu/redis raise several types for "broker unreachable"
        logger.warning("Could not publish %s #%s: %s", model.task_type, job_id, exc)
        model.objects.pending().filter(pk=job_id).update_bookkeeping(progress_message=WAITING_FOR_QUEUE)
        return False
    model.objects.pending().filter(pk=job_id).update_bookkeeping(
        queued_at=timezone.now(), celery_task_id=task_id, progress_message=message
    )
    return True
