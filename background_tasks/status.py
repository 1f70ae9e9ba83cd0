"""The one set of job statuses."""
from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    COMPLETED_WITH_WARNINGS = "completed_with_warnings", "Completed with warnings"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def active(cls) -> tuple[TaskStatus, ...]:
        """Return the statuses of jobs that have not finished."""
        return (cls.PENDING, cls.RUNNING)

    @classmethod
    def terminal(cls) -> tuple[TaskStatus, ...]:
        """Return the statuses a job never leaves on its own."""
        return (cls.COMPLETED, cls.FAILED, cls.COMPLETED_WITH_WARNINGS, cls.CANCELLED)

    @classmethod
    def succeeded(cls) -> tuple[TaskStatus, ...]:
        """Return the statuses of jobs whose work finished and whose outcome stands."""
        return (cls.COMPLETED, cls.COMPLETED_WITH_WARNINGS)

    @classmethod
    def retryable(cls) -> tuple[TaskStatus, ...]:
        """Return the statuses from which a job may be run again."""
        return (cls.FAILED, cls.CANCELLED)
