"""The periodic sweep: publish jobs that never reached a queue, reap jobs whose worker died."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from .conf import task_setting
from .dispatch import background_task_publish
from .jobs import clip_message
from .registry import task_models
from .services import notify_admins_of_failure
from .status import TaskStatus

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    published: int = 0
    requeued: int = 0
    failed: int = 0
    cancelled: int = 0

    def __str__(self) -> str:
        return (
            f"{self.published} published, {self.requeued} re-queued, "
            f"{self.failed} failed (worker lost), {self.cancelled} cancelled"
        )


def background_tasks_sweep(*, republish_all_pending: bool = False) -> SweepReport:
    """Run one sweep over every job table and say what it did."""
    report = SweepReport()
    reap_stale_jobs(report)
    publish_waiting_jobs(report, republish_all_pending=republish_all_pending)
    return report


def publish_waiting_jobs(report: SweepReport, *, republish_all_pending: bool = False) -> None:
    now = timezone.now()
    grace = now - timedelta(seconds=task_setting("PUBLISH_GRACE"))
    lost = now - timedelta(seconds=task_setting("REPUBLISH_AFTER"))
    for model in task_models().values():
        if republish_all_pending:
            ids = model.objects.pending().values_list("pk", flat=True)
        else:
            ids = model.objects.unpublished(created_before=grace).values_list("pk", flat=True)
            ids = list(ids) + list(model.objects.published_but_not_started(queued_before=lost).values_list("pk", flat=True))
        for job_id in ids:
            if not background_task_publish(model, job_id):
                return  # the broker is still down: try again next sweep
            report.published += 1


def reap_stale_jobs(report: SweepReport) -> None:
    """Finish or re-queue running jobs whose heartbeat went silent."""
    now = timezone.now()
    threshold = now - timedelta(seconds=task_setting("STALE_AFTER"))
    max_attempts = task_setting("MAX_ATTEMPTS")
    for model in task_models().values():
        for job in model.objects.stale(heartbeat_before=threshold).only(
            "pk", "attempts", "cancel_requested", "heartbeat_at", "triggered_by"
        ):
            stale = model.objects.stale(heartbeat_before=threshold).filter(pk=job.pk)
            if job.cancel_requested:
                if stale.update(status=TaskStatus.CANCELLED, completed_at=now, progress_message="Cancelled"):
                    report.cancelled += 1
                continue
            silent = int((now - job.heartbeat_at).total_seconds())
            if model.requeue_on_worker_lost and job.attempts < max_attempts:
                if stale.update(
                    status=TaskStatus.PENDING,
                    queued_at=None,
                    progress_message=clip_message(
                        f"Re-queued: worker lost (silent for {silent}s), attempt {job.attempts + 1} of {max_attempts}"
                    ),
                ):
                    report.requeued += 1
                    background_task_publish(model, job.pk)
                continue
            error = f"Worker lost: no heartbeat for {silent}s after {job.attempts} attempt(s)"
            if stale.update(
                status=TaskStatus.FAILED, completed_at=now, error_message=error, progress_message="Failed"
            ):
                report.failed += 1
                job.refresh_from_db()
                notify_admins_of_failure(job=job, error_message=error)
