"""Named queries over job tables, so call sites never filter on raw status values."""
from datetime import datetime

from django.db import connections, models, transaction

from .status import TaskStatus


class BackgroundTaskQuerySet(models.QuerySet):
    def update_bookkeeping(self, **updates) -> int:
        """UPDATE without waiting for PostgreSQL to flush its log to disk (synchronous_commit off).

        Only for writes that the sweep or a re-run rebuilds if a database crash loses its last
        fraction of a second of commits: claims, progress, heartbeats, publish marks. Other
        sessions see the change at once; final statuses and job inputs are always written
        durably. Inside a caller's transaction it is a plain UPDATE (that transaction decides).
        """
        connection = connections[self.db]
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return self.update(**updates)
        with transaction.atomic(using=self.db):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            return self.update(**updates)

    def with_related(self):
        """Join the rows a status body reads through a foreign key (a job's vendor): one query, not two."""
        related = [f.name for f in self.model._meta.concrete_fields if f.many_to_one]
        return self.select_related(*related) if related else self

    def pending(self):
        return self.filter(status=TaskStatus.PENDING)

    def running(self):
        return self.filter(status=TaskStatus.RUNNING)

    def active(self):
        return self.filter(status__in=TaskStatus.active())

    def terminal(self):
        return self.filter(status__in=TaskStatus.terminal())

    def succeeded(self):
        return self.filter(status__in=TaskStatus.succeeded())

    def unpublished(self, *, created_before: datetime):
        """Pending jobs whose publish never succeeded (broker down, process died)."""
        return self.pending().filter(queued_at__isnull=True, created_at__lt=created_before)

    def published_but_not_started(self, *, queued_before: datetime):
        """Pending jobs handed to a queue long ago and never picked up (message lost)."""
        return self.pending().filter(queued_at__lt=queued_before)

    def stale(self, *, heartbeat_before: datetime):
        """Running jobs whose worker has been silent since ``heartbeat_before``."""
        return self.running().filter(heartbeat_at__lt=heartbeat_before)
