"""What a job's author uses: the progress handle, the outcome, and the exceptions that end a job."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from .conf import task_settings
from .models import BackgroundTask
from .signals import progress_reported

MESSAGE_MAX = 255


class JobFailed(Exception):
    """Raise from a job's work to fail it with a readable message (stored as error_message)."""


class JobInterrupted(Exception):
    """Raised inside a job's work when it must stop: cancel requested or no longer running."""


@dataclass
class Outcome:
    """What a job's work returns: warnings make it completed_with_warnings."""

    warnings: Sequence[str] = field(default_factory=list)
    message: str = ""


def clip_message(text: str, limit: int = MESSAGE_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class JobProgress:
    """Handed to a job's work: throttled progress writes that also beat and check for cancel."""

    def __init__(self, job: BackgroundTask):
        self.job = job
        # The claim has just written the row (and its heartbeat): it counts as the first write.
        self._last_write = time.monotonic()

    def __call__(self, percent: int | float | None = None, message: str | None = None, *, force: bool = False):
        """Report progress; raise JobInterrupted when the job was asked to stop."""
        progress_reported.send(sender=type(self.job), job=self.job, percent=percent, message=message)
        now = time.monotonic()
        if percent is not None:
            percent = max(0, min(100, int(percent)))
        if not force and now - self._last_write < task_settings.PROGRESS_INTERVAL:
            return
        self._last_write = now
        updates = {"heartbeat_at": timezone.now()}
        if percent is not None:
            updates["progress_percent"] = self.job.progress_percent = percent
        if message is not None:
            updates["progress_message"] = self.job.progress_message = clip_message(message)
        model = type(self.job)
        if not model.objects.running().filter(pk=self.job.pk, cancel_requested=False).update_bookkeeping(**updates):
            self._raise_interrupted()

    def _raise_interrupted(self):
        row = type(self.job).objects.filter(pk=self.job.pk).values_list("status", "cancel_requested").first()
        if row and row[1]:
            raise JobInterrupted("Cancelled on request")
        raise JobInterrupted("The job is no longer running")
