"""Named queries over job tables, so call sites never filter on raw status values."""
from datetime import datetime

from django.db import models

from .status import TaskStatus


class BackgroundTaskQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=TaskStatus.PENDING)

    def running(self):
        return self.filter(status=TaskStatus.RUNNING)

    def active(self):
        return self.filter(status__in=TaskStatus.active())

    def terminal(self):
        return self.filter(status__in=TaskStatus.terminal())

    def failed(self):
        return self.filter(status=TaskStatus.FAILED)

    def unpublished(self, *, created_before: datetime):
        """Pending jobs whose publish never succeeded (broker down, process died)."""
        return self.pending().filter(queued_at__isnull=True, created_at__lt=created_before)

    def published_but_not_started(self, *, queued_before: datetime):
        """Pending jobs handed to a queue long ago and never picked up (message lost)."""
        return self.pending().filter(queued_at__lt=queued_before)

    def stale(self, *, heartbeat_before: datetime):
        """Running jobs whose worker has been silent since ``heartbeat_before``."""
        return self.running().filter(heartbeat_at__lt=heartbeat_before)
