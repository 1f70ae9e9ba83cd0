"""Retention: delete the files of old finished jobs, then their rows with their ids, results and notifications.

Per task type, ``BACKGROUND_TASKS["RETENTION"]`` says after how many days a finished job (counted from
``completed_at``) loses its files (``files_days``) and its row (``rows_days``); ``"default"`` covers the
types not named. Active jobs are never touched. Work goes in batches of ``RETENTION_BATCH_SIZE`` ids,
each batch one short transaction, so the job tables stay writable while a prune runs.

Uploads stored for a job that was never created (``PendingUpload``: the product import's mapping
screen left without starting the import) go with their file after ``PENDING_UPLOAD_HOURS``, unless
a job holds the file.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .conf import DEFAULTS, task_settings
from .files import private_storage
from .jobs import JobFailed, Outcome
from .models import AdminNotification, BackgroundTask, PendingUpload, TaskRef
from .registry import task_models

logger = logging.getLogger(__name__)

# Reports progress: (units done, units in all, what is being done).
ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Retention:
    """How long a finished job of one type keeps its row and its files (None: forever)."""

    rows_days: float | None
    files_days: float | None


RETENTION_KEYS = ("rows_days", "files_days")


def retention_problems() -> list[str]:
    """Return what is wrong with BACKGROUND_TASKS["RETENTION"] and ["PENDING_UPLOAD_HOURS"] (the system check
    and the prune say it)."""
    problems = []
    hours = task_settings.PENDING_UPLOAD_HOURS
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
        problems.append(f'BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"] must be a number of hours above 0, not {hours!r}.')
    configured = task_settings.RETENTION
    if not isinstance(configured, dict):
        return [*problems, f'BACKGROUND_TASKS["RETENTION"] must be a dict of task types, not {configured!r}.']
    for name, entry in configured.items():
        if not isinstance(entry, dict):
            problems.append(f'BACKGROUND_TASKS["RETENTION"][{name!r}] must be a dict with {" and ".join(RETENTION_KEYS)}.')
            continue
        for key, value in entry.items():
            if key not in RETENTION_KEYS:
                problems.append(f'BACKGROUND_TASKS["RETENTION"][{name!r}]: unknown key {key!r} (use {" or ".join(RETENTION_KEYS)}).')
            elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                problems.append(
                    f'BACKGROUND_TASKS["RETENTION"][{name!r}]: {key} must be a number of days (0 or more) or None, not {value!r}.'
                )
    return problems


def retention_for(task_type: str) -> Retention:
    """Return the retention of a task type: its own entry over "default" over the built-in default."""
    problems = retention_problems()
    if problems:
        raise JobFailed(" ".join(problems))
    configured = task_settings.RETENTION
    merged = {**DEFAULTS["RETENTION"]["default"], **configured.get("default", {}), **configured.get(task_type, {})}
    return Retention(rows_days=merged["rows_days"], files_days=merged["files_days"])


@dataclass
class PruneReport:
    """What a prune removed (or, in a dry run, would remove)."""

    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    results: int = 0
    notifications: int = 0
    # Uploads no job took within PENDING_UPLOAD_HOURS (their files).
    pending_uploads: int = 0

    def add(self, task_type: str, *, rows: int = 0, files: int = 0) -> None:
        counts = self.by_type.setdefault(task_type, {"rows": 0, "files": 0})
        counts["rows"] += rows
        counts["files"] += files

    @property
    def rows(self) -> int:
        return sum(counts["rows"] for counts in self.by_type.values())

    @property
    def files(self) -> int:
        return sum(counts["files"] for counts in self.by_type.values())

    def as_summary(self) -> dict:
        totals = {
            "rows": self.rows, "files": self.files, "results": self.results, "notifications": self.notifications,
            "pending_uploads": self.pending_uploads,
        }
        return {**self.by_type, "totals": totals}

    def __str__(self) -> str:
        return (
            f"{self.rows} job rows, {self.files} files, {self.results} task results, "
            f"{self.notifications} notifications, {self.pending_uploads} uploads never imported"
        )


def _cutoff(now: datetime, days: float | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def _has_files(model: type[BackgroundTask]) -> Q:
    query = Q()
    for name in model.file_fields:
        query |= ~Q(**{name: ""})
    return query


def jobs_with_expired_files(model: type[BackgroundTask], *, now: datetime):
    """Finished jobs of ``model`` past their files limit whose files are still stored."""
    cutoff = _cutoff(now, retention_for(model.task_type).files_days)
    if cutoff is None or not model.file_fields:
        return model.objects.none()
    return model.objects.terminal().filter(_has_files(model), completed_at__lt=cutoff, files_pruned_at__isnull=True)


def jobs_past_retention(model: type[BackgroundTask], *, now: datetime):
    """Finished jobs of ``model`` past their rows limit."""
    cutoff = _cutoff(now, retention_for(model.task_type).rows_days)
    if cutoff is None:
        return model.objects.none()
    return model.objects.terminal().filter(completed_at__lt=cutoff)


def _batches(rows, size: int, fields: tuple[str, ...] = ()) -> Iterator[list[tuple]]:
    """Yield ``(pk, *fields)`` of ``rows`` in ascending batches (keyset pagination: each batch one index range)."""
    last = None
    while True:
        page = rows.order_by("pk") if last is None else rows.filter(pk__gt=last).order_by("pk")
        batch = list(page.values_list("pk", *fields)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _delete_files(names) -> int:
    """Delete these files of the private storage through its API; return how many there were."""
    storage = private_storage()
    deleted = 0
    for name in names:
        if name:
            storage.delete(name)
            deleted += 1
    return deleted


def _count_files(rows, model: type[BackgroundTask]) -> int:
    rows = rows.filter(files_pruned_at__isnull=True)
    return sum(rows.exclude(**{name: ""}).count() for name in model.file_fields)


def prune_files(model: type[BackgroundTask], *, now: datetime, report: PruneReport, step: Callable[[int], None]) -> None:
    """Delete the files of jobs past their files limit; their rows stay and say so (``files_pruned_at``)."""
    cleared = {name: "" for name in model.file_fields}
    expired = jobs_with_expired_files(model, now=now)
    for batch in _batches(expired, task_settings.RETENTION_BATCH_SIZE, model.file_fields):
        files = _delete_files(name for _, *names in batch for name in names)
        ids = [pk for pk, *_ in batch]
        model.objects.filter(pk__in=ids, files_pruned_at__isnull=True).update(files_pruned_at=now, **cleared)
        report.add(model.task_type, files=files)
        step(len(ids))


def prune_rows(model: type[BackgroundTask], *, now: datetime, report: PruneReport, step: Callable[[int], None]) -> None:
    """Delete the rows of jobs past their rows limit (files first), with their id rows, results and notifications."""
    rows = jobs_past_retention(model, now=now)
    for batch in _batches(rows, task_settings.RETENTION_BATCH_SIZE, ("files_pruned_at", *model.file_fields)):
        files = _delete_files(name for _, pruned, *names in batch if pruned is None for name in names)
        ids = [pk for pk, *_ in batch]
        with transaction.atomic():
            # Locked (PostgreSQL) and deleted only while still finished and old: a job retried meanwhile stays.
            locked = dict(rows.filter(pk__in=ids).select_for_update().values_list("pk", "celery_task_id"))
            rows.filter(pk__in=list(locked)).delete()
            kept = set(model.objects.filter(pk__in=list(locked)).values_list("pk", flat=True))
            deleted = [pk for pk in locked if pk not in kept]
            TaskRef.objects.filter(pk__in=deleted).delete()
            report.results += _delete_results([locked[pk] for pk in deleted if locked[pk]])
            report.notifications += AdminNotification.objects.filter(task_type=model.task_type, job_id__in=deleted).delete()[0]
        report.add(model.task_type, rows=len(deleted), files=files)
        step(len(ids))


def pending_upload_limit() -> timedelta:
    """How long an upload may wait for its job (BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"])."""
    problems = retention_problems()
    if problems:
        raise JobFailed(" ".join(problems))
    return timedelta(hours=task_settings.PENDING_UPLOAD_HOURS)


def expired_pending_uploads(*, now: datetime):
    """Pending uploads stored longer ago than the limit (some may be held by a job all the same)."""
    return PendingUpload.objects.filter(stored_at__lt=now - pending_upload_limit())


def files_held_by_jobs(names: list[str]) -> set[str]:
    """Those of ``names`` that a job of any type holds in one of its file fields."""
    held: set[str] = set()
    for model in task_models().values():
        if not model.file_fields or not names:
            continue
        query = Q()
        for name in model.file_fields:
            query |= Q(**{f"{name}__in": names})
        for values in model.objects.filter(query).values_list(*model.file_fields):
            held.update(values)
    return held.intersection(names)


def prune_pending_uploads(*, now: datetime, report: PruneReport, step: Callable[[int], None]) -> None:
    """Delete the files of uploads no job took within the limit, and their rows; a file a job holds stays."""
    expired = expired_pending_uploads(now=now)
    for batch in _batches(expired, task_settings.RETENTION_BATCH_SIZE):
        ids = [pk for pk, in batch]
        with transaction.atomic():
            # Locked (PostgreSQL): a job claiming one of these uploads waits, then finds its file gone;
            # a row a job claimed meanwhile is no longer here.
            locked = dict(expired.filter(pk__in=ids).select_for_update().values_list("pk", "name"))
            held = files_held_by_jobs(list(locked.values()))
            report.pending_uploads += _delete_files(name for name in locked.values() if name not in held)
            PendingUpload.objects.filter(pk__in=list(locked)).delete()
        step(len(ids))


def pending_uploads_record_unheld(*, prefix: str, dry_run: bool = False) -> int:
    """Record as pending uploads the files under ``prefix`` that no job holds and no row names yet (files
    stored before pending uploads were recorded), stored when the storage says; return how many.

    It lists that prefix of the storage once (the nightly prune never lists); ``dry_run`` only counts.
    """
    storage = private_storage()
    folder = prefix.strip("/")
    try:
        _dirs, files = storage.listdir(folder)
    except FileNotFoundError:  # a local folder never made
        return 0
    names = [f"{folder}/{name}" for name in files]
    size = task_settings.RETENTION_BATCH_SIZE
    recorded = 0
    for start in range(0, len(names), size):
        chunk = names[start:start + size]
        known = set(PendingUpload.objects.filter(name__in=chunk).values_list("name", flat=True))
        known |= files_held_by_jobs(chunk)
        unheld = [name for name in chunk if name not in known]
        rows = []
        for name in unheld:
            try:
                rows.append(PendingUpload(name=name, stored_at=storage.get_modified_time(name)))
            except FileNotFoundError:  # deleted meanwhile
                continue
        if not dry_run:
            PendingUpload.objects.bulk_create(rows, ignore_conflicts=True)
        recorded += len(rows)
    return recorded


def _count_pending_uploads(*, now: datetime) -> int:
    count = 0
    for batch in _batches(expired_pending_uploads(now=now), task_settings.RETENTION_BATCH_SIZE, ("name",)):
        names = [name for _, name in batch]
        count += len(set(names) - files_held_by_jobs(names))
    return count


def _delete_results(task_ids: list[str]) -> int:
    """Delete the Celery results (django-celery-results) of these task ids."""
    if not task_ids or not apps.is_installed("django_celery_results"):
        return 0
    from django_celery_results.models import TaskResult

    return TaskResult.objects.filter(task_id__in=task_ids).delete()[0]


def retention_plan(*, now: datetime) -> PruneReport:
    """Count what a prune would remove now (the dry run), without removing anything."""
    report = PruneReport()
    for model in task_models().values():
        expired = jobs_with_expired_files(model, now=now)
        old = jobs_past_retention(model, now=now)
        files = _count_files(expired, model) + _count_files(old.exclude(pk__in=expired.values("pk")), model)
        report.add(model.task_type, rows=old.count(), files=files)
    report.pending_uploads = _count_pending_uploads(now=now)
    return report


def retention_prune(*, now: datetime | None = None, progress: ProgressCallback | None = None) -> PruneReport:
    """Delete expired files, then expired rows, of every task type, then uploads no job took; report progress per batch."""
    now = now or timezone.now()
    models = list(task_models().values())
    total = sum(jobs_with_expired_files(m, now=now).count() + jobs_past_retention(m, now=now).count() for m in models)
    total += expired_pending_uploads(now=now).count()
    report = PruneReport()
    done = 0

    def step_for(what: str) -> Callable[[int], None]:
        def step(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, total, what)

        return step

    for model in models:
        prune_files(model, now=now, report=report, step=step_for(f"Deleting old files of {model._meta.verbose_name_plural}"))
    for model in models:
        prune_rows(model, now=now, report=report, step=step_for(f"Deleting old {model._meta.verbose_name_plural}"))
    prune_pending_uploads(now=now, report=report, step=step_for("Deleting uploads never imported"))
    _forget_cached_counts()
    logger.info("Retention pruned %s", report)
    return report


def _forget_cached_counts() -> None:
    """Drop the counts pages share for a few seconds, so the next poll counts without the pruned jobs."""
    from django.core.cache import cache

    from .selectors import COUNTS_CACHE_KEY, COUNTS_CAP

    cache.delete_many([f"{COUNTS_CACHE_KEY}:{COUNTS_CAP}", f"{COUNTS_CACHE_KEY}:None"])


def retention_prune_execute(*, run, progress) -> Outcome:
    """The prune job's work: prune (or count, for a dry run) and store the summary."""
    now = timezone.now()
    if run.dry_run:
        report = retention_plan(now=now)
        verb = "Would remove"
    else:
        report = retention_prune(
            now=now,
            progress=lambda done, total, what: progress(done * 100 // max(total, 1), f"{what} ({done:,} of {total:,} jobs)"),
        )
        verb = "Removed"
    run.summary = report.as_summary()
    run.save(update_fields=["summary"])
    return Outcome(message=f"{verb} {report}")
