"""The job lifecycle, written once: create, claim, progress, finish, fail, cancel, retry, run."""
from __future__ import annotations

import logging
from datetime import datetime

from django.core.mail import mail_admins
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from . import heartbeat
from .failures import clip_detail, readable_failure, technical_cause
from .jobs import JobFailed, JobInterrupted, JobProgress, Outcome, clip_message
from .models import AdminNotification, BackgroundTask
from .status import TaskStatus

logger = logging.getLogger(__name__)

# What background_task_run returns when this delivery did not get the job (another one has it, or it ended).
SKIPPED = "skipped"

# --- create, dispatch-facing ---------------------------------------------------------------


def background_task_create(
    *, model: type[BackgroundTask], triggered_by: str, dispatch: bool = True, **fields
) -> BackgroundTask:
    """Create a pending job and, unless told not to, dispatch it once the transaction commits."""
    from .dispatch import background_task_dispatch

    with transaction.atomic():
        job = model(triggered_by=triggered_by, progress_message="Waiting to start", **fields)
        if not dispatch:
            job.queued_at = timezone.now()
        job.save()
        if dispatch:
            background_task_dispatch(job)
    return job


# --- worker side ------------------------------------------------------------------------------


def background_task_claim(
    *, model: type[BackgroundTask], job_id: int, celery_task_id: str | None = None
) -> BackgroundTask | None:
    """Move a pending job to running; return it, or None when another worker won or it is gone."""
    now = timezone.now()
    updates = dict(
        status=TaskStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        progress_percent=0,
        progress_message="Started",
        completed_at=None,
        error_message=None,
        error_detail="",
    )
    if celery_task_id:
        updates["celery_task_id"] = celery_task_id
    if not model.objects.pending().filter(pk=job_id, cancel_requested=False).update_bookkeeping(**updates):
        return None
    return model.objects.get(pk=job_id)


def _finish(
    job: BackgroundTask,
    *,
    status: TaskStatus,
    message: str,
    error: str | None = None,
    detail: str = "",
    rows: QuerySet | None = None,
) -> bool:
    """Move the job from ``rows`` (its running row by default) to a final status; return whether it won."""
    now = timezone.now()
    updates = dict(status=status, completed_at=now, heartbeat_at=now, progress_message=clip_message(message))
    if status in TaskStatus.succeeded():
        updates["progress_percent"] = 100
    if error is not None:
        updates["error_message"] = error
    if detail:
        updates["error_detail"] = clip_detail(detail)
    if rows is None:
        rows = type(job).objects.running().filter(pk=job.pk)
    won = bool(rows.update(**updates))
    if won:
        for name, value in updates.items():
            setattr(job, name, value)
    else:
        logger.warning("%s was no longer running when it finished as %s", job, status)
    return won


def background_task_complete(*, job: BackgroundTask, outcome: Outcome | None = None) -> bool:
    """Finish a running job as completed, or completed_with_warnings when it has warnings."""
    outcome = outcome or Outcome()
    if outcome.warnings:
        count = len(outcome.warnings)
        message = outcome.message or f"Completed with {count} warning{'s' if count != 1 else ''}"
        return _finish(job, status=TaskStatus.COMPLETED_WITH_WARNINGS, message=message)
    return _finish(job, status=TaskStatus.COMPLETED, message=outcome.message or "Completed")


def background_task_fail(
    *, job: BackgroundTask, error_message: str, cause: str = "", rows: QuerySet | None = None
) -> bool:
    """Finish a running job as failed, store the reason (and the technical cause, if any) and tell the admins."""
    if not _finish(job, status=TaskStatus.FAILED, message="Failed", error=error_message, detail=cause, rows=rows):
        return False
    notify_admins_of_failure(job=job, error_message=error_message, cause=cause)
    return True


def notify_admins_of_failure(*, job, error_message: str, cause: str = "") -> AdminNotification:
    """Create an admin notification and mail the ADMINS about a failed job."""
    title = f"{job._meta.verbose_name.capitalize()} #{job.pk} failed"
    text = f"{error_message}\n\nCause: {cause}" if cause else error_message
    note = AdminNotification.objects.create(
        level=AdminNotification.Level.ERROR,
        title=clip_message(title),
        message=text,
        task_type=job.task_type,
        job_id=job.pk,
    )
    mail_admins(subject=title, message=f"{title}\n\n{text}\n\nTriggered by: {job.triggered_by}", fail_silently=True)
    return note


def _finish_cancelled(job: BackgroundTask, rows: QuerySet | None = None) -> bool:
    return _finish(job, status=TaskStatus.CANCELLED, message="Cancelled", rows=rows)


def background_task_run(
    *, model: type[BackgroundTask], job_id: int, celery_task_id: str | None = None
) -> str:
    """Claim a job and run its work to a final status; return that status (or SKIPPED when not claimed)."""
    job = background_task_claim(model=model, job_id=job_id, celery_task_id=celery_task_id)
    if job is None:
        logger.info("%s #%s not claimed: already taken, finished or gone", model.task_type, job_id)
        return SKIPPED
    with heartbeat.beating(job):
        try:
            outcome = job.execute(JobProgress(job))
        except JobInterrupted as exc:
            logger.info("%s stopped: %s", job, exc)
            finished = _settle(_finish_cancelled, job)
        except JobFailed as exc:
            # A readable message by design; raised from another exception, that one is the cause.
            cause = technical_cause(exc.__cause__) if exc.__cause__ is not None else ""
            finished = _settle(background_task_fail, job=job, error_message=str(exc) or "The job failed", cause=cause)
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            finished = _settle(background_task_crash, job=job, exc=exc)
        else:
            finished = _settle(background_task_complete, job=job, outcome=outcome)
    if finished:
        return job.status
    # Someone else settled it first (the reaper, a cancel): report what the row says.
    return type(job).objects.filter(pk=job.pk).values_list("status", flat=True).first() or SKIPPED


def background_task_crash(*, job: BackgroundTask, exc: BaseException) -> bool:
    """Fail a job whose work raised unexpectedly: a readable sentence for users, the cause for staff."""
    message, cause = readable_failure(exc), technical_cause(exc)
    logger.error("%s failed: %s", job, message, exc_info=exc)
    return background_task_fail(job=job, error_message=message, cause=cause)


def _settle(finish, *args, **kwargs) -> bool:
    """Write the final status; if the job's end broke the connection, retry once on a fresh one.

    A time limit or a crash can interrupt the job in the middle of a query and leave the
    connection unusable; the final status must still be written.
    """
    try:
        return finish(*args, **kwargs)
    except DatabaseError:
        logger.warning("Writing a final status failed; retrying on a new connection", exc_info=True)
        connection.close()
        close_old_connections()
        return finish(*args, **kwargs)


# --- the reaper's verbs: jobs whose worker went silent --------------------------------------------


def background_task_reap(*, job: BackgroundTask, stale_before: datetime, max_attempts: int) -> TaskStatus | None:
    """Settle a running job silent since ``stale_before``: cancelled if asked, re-queued while attempts
    remain (and its type allows a re-run), failed otherwise; return the new status, None if it woke up."""
    model = type(job)
    stale = model.objects.stale(heartbeat_before=stale_before).filter(pk=job.pk)
    if job.cancel_requested:
        return TaskStatus.CANCELLED if _finish_cancelled(job, rows=stale) else None
    silent = int((timezone.now() - job.heartbeat_at).total_seconds())
    if model.requeue_on_worker_lost and job.attempts < max_attempts:
        message = f"Re-queued: worker lost (silent for {silent}s), attempt {job.attempts + 1} of {max_attempts}"
        return TaskStatus.PENDING if _requeue(job, rows=stale, message=message) else None
    error = f"Worker lost: no heartbeat for {silent}s after {job.attempts} attempt(s)"
    return TaskStatus.FAILED if background_task_fail(job=job, error_message=error, rows=stale) else None


def _requeue(job: BackgroundTask, *, rows: QuerySet, message: str) -> bool:
    from .dispatch import background_task_publish

    if not rows.update(status=TaskStatus.PENDING, queued_at=None, progress_message=clip_message(message)):
        return False
    background_task_publish(type(job), job.pk)
    return True


# --- staff actions ------------------------------------------------------------------------------


def background_task_cancel(*, job: BackgroundTask, cancelled_by: str = "") -> bool:
    """Cancel a pending job at once, or ask a running one to stop; return whether anything changed."""
    now = timezone.now()
    who = f" by {cancelled_by}" if cancelled_by else ""
    model = type(job)
    if model.objects.pending().filter(pk=job.pk).update(
        status=TaskStatus.CANCELLED, completed_at=now, cancel_requested=True, progress_message=clip_message(f"Cancelled{who}")
    ):
        _revoke(job)
        job.refresh_from_db()
        return True
    if model.objects.running().filter(pk=job.pk, cancel_requested=False).update(
        cancel_requested=True, progress_message=clip_message(f"Cancelling{who}…")
    ):
        job.refresh_from_db()
        return True
    return False


def _revoke(job: BackgroundTask) -> None:
    """Drop a queued Celery message early (best effort: the claim refuses it anyway)."""
    from .conf import use_celery

    if not (use_celery() and job.celery_task_id):
        return
    from .dispatch import celery_app

    try:
        celery_app().control.revoke(job.celery_task_id)
    except Exception:
        logger.info("Could not revoke %s; the worker will skip it at claim", job.celery_task_id)


def background_task_retry(*, job: BackgroundTask, triggered_by: str) -> bool:
    """Put a failed or cancelled job back to pending and dispatch it again."""
    from .dispatch import background_task_dispatch

    try:
        with transaction.atomic():
            changed = type(job).objects.filter(pk=job.pk, status__in=TaskStatus.retryable()).update(
                status=TaskStatus.PENDING,
                started_at=None,
                completed_at=None,
                heartbeat_at=None,
                queued_at=None,
                error_message=None,
                error_detail="",
                progress_percent=0,
                progress_message="Waiting to start (retry)",
                attempts=0,
                cancel_requested=False,
                triggered_by=triggered_by,
            )
            if changed:
                job.refresh_from_db()
                background_task_dispatch(job)
    except IntegrityError:
        # A type that allows one active job at a time (a constraint on its table) has one already.
        logger.info("%s not retried: its type allows one active job and one is active", job)
        return False
    return bool(changed)
