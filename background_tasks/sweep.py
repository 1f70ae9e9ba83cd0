"""The periodic sweep: publish jobs that never reached a queue, reap jobs whose worker died."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from .broker import task_ids_known_to_broker
from .conf import task_settings, use_celery
from .dispatch import REQUEUED_AFTER_LOSS, background_task_publish
from .registry import task_models
from .services import background_task_reap
from .status import TaskStatus

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    published: int = 0
    requeued: int = 0
    failed: int = 0
    cancelled: int = 0
    lost: int = 0

    def __str__(self) -> str:
        return (
            f"{self.published} published, {self.requeued} re-queued, "
            f"{self.failed} failed (worker lost), {self.cancelled} cancelled, "
            f"{self.lost} re-published (message lost by the queue)"
        )


def background_tasks_sweep(*, republish_all_pending: bool = False) -> SweepReport:
    """Run one sweep over every job table and say what it did."""
    report = SweepReport()
    reap_stale_jobs(report)
    if not republish_all_pending:
        republish_lost_messages(report)
    publish_waiting_jobs(report, republish_all_pending=republish_all_pending)
    return report


def republish_lost_messages(report: SweepReport) -> None:
    """Publish again the pending jobs whose message the broker no longer has (not queued, held by no worker).

    A Redis restart without persistence or a FLUSHALL loses queued messages; waiting REPUBLISH_AFTER
    for them would leave jobs "Queued" for an hour. A message wrongly thought lost only makes a
    duplicate, which loses the claim.
    """
    after = task_settings.LOST_MESSAGE_AFTER
    if not use_celery() or not after:
        return
    published_before = timezone.now() - timedelta(seconds=after)
    candidates = {
        model: dict(
            model.objects.published_but_not_started(queued_before=published_before)
            .exclude(celery_task_id=None)
            .values_list("pk", "celery_task_id")
        )
        for model in task_models().values()
    }
    candidates = {model: jobs for model, jobs in candidates.items() if jobs}
    if not candidates:
        return
    known = task_ids_known_to_broker({model.queue for model in candidates})
    if known is None:
        return  # the broker cannot tell: REPUBLISH_AFTER remains the fallback
    for model, jobs in candidates.items():
        for job_id, task_id in jobs.items():
            if task_id in known or not model.objects.pending().filter(pk=job_id, celery_task_id=task_id).exists():
                continue
            logger.warning("%s #%s: its message %s is no longer in the queue; publishing it again", model.task_type, job_id, task_id)
            if not background_task_publish(model, job_id, message=REQUEUED_AFTER_LOSS):
                return
            report.lost += 1


def publish_waiting_jobs(report: SweepReport, *, republish_all_pending: bool = False) -> None:
    now = timezone.now()
    grace = now - timedelta(seconds=task_settings.PUBLISH_GRACE)
    lost = now - timedelta(seconds=task_settings.REPUBLISH_AFTER)
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
    """Finish or re-queue running jobs whose heartbeat went silent (the lifecycle decides which)."""
    threshold = timezone.now() - timedelta(seconds=task_settings.STALE_AFTER)
    max_attempts = task_settings.MAX_ATTEMPTS
    counters = {TaskStatus.CANCELLED: "cancelled", TaskStatus.PENDING: "requeued", TaskStatus.FAILED: "failed"}
    for model in task_models().values():
        for job in model.objects.stale(heartbeat_before=threshold).only(
            "pk", "attempts", "cancel_requested", "heartbeat_at", "triggered_by"
        ):
            settled = background_task_reap(job=job, stale_before=threshold, max_attempts=max_attempts)
            if settled is not None:
                setattr(report, counters[settled], getattr(report, counters[settled]) + 1)
