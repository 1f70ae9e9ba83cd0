"""The abstract BackgroundTask model, its status enum, and the shared id and notification tables."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.utils import timezone

from .querysets import BackgroundTaskQuerySet
from .status import TaskStatus

if TYPE_CHECKING:
    from .jobs import JobProgress, Outcome


class TaskRef(models.Model):
    """One row per job of any type: the shared sequence that makes job ids unique across types."""

    id = models.BigAutoField(primary_key=True)
    task_type = models.CharField(max_length=50)

    class Meta:
        verbose_name = "task id"

    def __str__(self) -> str:
        return f"{self.task_type} #{self.pk}"


class BackgroundTask(models.Model):
    """A long job: standard lifecycle fields; a subclass adds its inputs, outcome and work.

    A concrete subclass sets ``task_type`` and ``queue`` and implements ``execute``.
    """

    task_type: ClassVar[str] = ""
    queue: ClassVar[str] = "default"
    # Whether a job whose worker died may run again from the start (its work is idempotent).
    requeue_on_worker_lost: ClassVar[bool] = True
    # The fields holding the name of a file of the job in the "private" storage (uploads, reports,
    # exports): retention deletes those files, then the rows (background_tasks/retention.py).
    file_fields: ClassVar[tuple[str, ...]] = ()

    id = models.BigIntegerField(primary_key=True, editable=False)
    status = models.CharField(
        max_length=30, choices=TaskStatus.choices, default=TaskStatus.PENDING, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.CharField(max_length=100, blank=True, default="")
    error_message = models.TextField(null=True, blank=True)
    # For staff: the technical cause behind error_message (each exception of the chain: its class and
    # the driver's message, clipped). Empty unless the job failed on an unexpected error.
    error_detail = models.TextField(
        blank=True, default="", help_text="The technical cause of the failure (exception and driver message), for staff."
    )
    progress_percent = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    progress_message = models.CharField(max_length=255, blank=True, default="")
    celery_task_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    # Reliability: when the job was handed to a queue, its worker's last sign of life,
    # how many times it was claimed, and whether someone asked it to stop.
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # Set when retention deleted the job's files (its file fields are emptied); the row stays.
    files_pruned_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = BackgroundTaskQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"{self.task_type} #{self.pk} ({self.status})"

    def save(self, *args, **kwargs):
        """Draw the id from the shared sequence on first save."""
        if self.pk is None:
            # No savepoint (two round trips per job): a failed insert fails the caller's transaction too.
            with transaction.atomic(using=kwargs.get("using"), savepoint=False):
                self.pk = TaskRef.objects.create(task_type=self.task_type).pk
                kwargs["force_insert"] = True
                return super().save(*args, **kwargs)
        return super().save(*args, **kwargs)

    def execute(self, progress: JobProgress) -> Outcome | None:
        """Do the job's own work, reporting through ``progress``; raise JobFailed to fail it."""
        raise NotImplementedError("A BackgroundTask subclass must implement execute().")

    def get_details(self) -> dict:
        """Return the task-specific part of the status body."""
        return {}

    def stored_files(self) -> list[str]:
        """Return the names of the job's files still in the private storage (from ``file_fields``)."""
        return [name for name in (getattr(self, field) for field in self.file_fields) if name]

    # Predicates so callers never compare raw status values.
    def is_running(self) -> bool:
        return self.status == TaskStatus.RUNNING

    def is_terminal(self) -> bool:
        return self.status in TaskStatus.terminal()

    def is_retryable(self) -> bool:
        return self.status in TaskStatus.retryable()

    def is_succeeded(self) -> bool:
        return self.status in TaskStatus.succeeded()

    @property
    def duration(self):
        """Return how long the job ran (so far), or None before it started."""
        if self.started_at is None:
            return None
        from django.utils import timezone

        return (self.completed_at or timezone.now()) - self.started_at


class ScheduledBackgroundTask(BackgroundTask):
    """A job type that beat starts: each job records its schedule and tick, and a tick makes one job.

    However many beat processes send the tick's message, the unique (schedule, tick) constraint lets
    only the first create a job; the others find it. Jobs started by hand leave both empty.
    """

    schedule = models.CharField(
        max_length=200, blank=True, default="", help_text="The beat schedule (periodic task) that started the job."
    )
    tick = models.DateTimeField(null=True, blank=True, help_text="The scheduled time the job stands for.")

    class Meta(BackgroundTask.Meta):
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "tick"],
                condition=models.Q(tick__isnull=False),
                name="%(app_label)s_%(class)s_one_job_per_tick",
            )
        ]


class UnifiedTask(models.Model):
    """Read-only SQL view over every job table: the one list of all jobs of all types."""

    id = models.BigIntegerField(primary_key=True)
    task_type = models.CharField(max_length=50)
    status = models.CharField(max_length=30, choices=TaskStatus.choices)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    triggered_by = models.CharField(max_length=100)
    error_message = models.TextField(null=True)
    progress_percent = models.PositiveSmallIntegerField()
    progress_message = models.CharField(max_length=255)
    celery_task_id = models.CharField(max_length=255, null=True)
    heartbeat_at = models.DateTimeField(null=True)
    attempts = models.PositiveSmallIntegerField()
    cancel_requested = models.BooleanField()

    objects = BackgroundTaskQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "background_tasks_unified"
        ordering = ["-created_at", "-id"]
        verbose_name = "background task"
        verbose_name_plural = "background tasks"

    def __str__(self) -> str:
        return f"{self.task_type} #{self.pk} ({self.status})"

    def is_terminal(self) -> bool:
        return self.status in TaskStatus.terminal()

    def is_retryable(self) -> bool:
        return self.status in TaskStatus.retryable()

    duration = BackgroundTask.duration


class AdminNotification(models.Model):
    """A message for staff, created when a job fails."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.ERROR)
    title = models.CharField(max_length=255)
    message = models.TextField(blank=True, default="")
    task_type = models.CharField(max_length=50, blank=True, default="")
    job_id = models.BigIntegerField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Retention deletes the notifications of the jobs it deletes, a batch of ids at a time.
        indexes = [models.Index(fields=["task_type", "job_id"], name="bg_notification_job_idx")]

    def __str__(self) -> str:
        return self.title

    def is_read(self) -> bool:
        return self.read_at is not None


class RetentionPruneRun(ScheduledBackgroundTask):
    """One pass of retention: old finished jobs lose their files, then their rows (with ids, results, notifications)."""

    task_type = "retention_prune"
    queue = "scheduled"

    dry_run = models.BooleanField(default=False, help_text="Count what would be removed; remove nothing.")
    # {task_type: {"rows": n, "files": n}, ...} and the totals of the related rows removed with them.
    summary = models.JSONField(default=dict, blank=True, editable=False)

    class Meta(ScheduledBackgroundTask.Meta):
        verbose_name = "retention prune run"

    def execute(self, progress):
        from .retention import retention_prune_execute

        return retention_prune_execute(run=self, progress=progress)

    def get_details(self) -> dict:
        details = {"dry_run": self.dry_run, "summary": self.summary}
        if self.tick is not None:
            details.update(schedule=self.schedule, tick=self.tick.isoformat())
        return details


class PendingUpload(models.Model):
    """A file stored in the private storage for a job not created yet (an upload waiting on its mapping screen).

    The job that takes the file deletes this row (``pending_upload_claim``); a row left older than
    ``BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"]`` goes with its file at the next retention prune. The
    prune finds these files here, never by listing the storage.
    """

    name = models.CharField(max_length=255, unique=True, help_text="The file's name in the private storage.")
    stored_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "pending upload"

    def __str__(self) -> str:
        return self.name
