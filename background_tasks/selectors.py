"""Read side: the unified queries over every job type (the seed's BackgroundTasksService)."""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict

from .models import AdminNotification, BackgroundTask, TaskRef, UnifiedTask
from .registry import get_task_model, task_models
from .status import TaskStatus

DEFAULT_LIMIT = 50
# A page asks for the state of at most this many jobs at once (the admin shows 50 rows, 200 with "Show all").
MAX_IDS = 200
COUNTS_CACHE_KEY = "background_tasks:count_by_status_and_type"
# Pages poll the counts every few seconds: they accept counts this many seconds old, and counts
# stop at this cap (shown as "10000+") so that a poll never scans a whole table.
COUNTS_MAX_AGE = 2.0
COUNTS_CAP = 10_000

# The header counts unread notifications up to here and shows "99+" beyond: never a count of a huge backlog.
UNREAD_CAP = 99
_TASK_TYPE_CACHE_SIZE = 10_000


class _TaskTypeCache:
    """job id -> task_type, per process: a job never changes type, so a poll needs no TaskRef query."""

    def __init__(self, size: int):
        self._size = size
        self._types: OrderedDict[int, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: int) -> str | None:
        with self._lock:
            task_type = self._types.get(job_id)
            if task_type is not None:
                self._types.move_to_end(job_id)
                return task_type
        task_type = TaskRef.objects.filter(pk=job_id).values_list("task_type", flat=True).first()
        if task_type is not None:  # unknown ids are not remembered: the job may be created later
            self.remember(job_id, task_type)
        return task_type

    def remember(self, job_id: int, task_type: str) -> None:
        with self._lock:
            self._types[job_id] = task_type
            self._types.move_to_end(job_id)
            while len(self._types) > self._size:
                self._types.popitem(last=False)

    def forget(self, job_id: int) -> None:
        with self._lock:
            self._types.pop(job_id, None)


task_type_cache = _TaskTypeCache(_TASK_TYPE_CACHE_SIZE)


def unread_notifications_count(cap: int = UNREAD_CAP) -> int:
    """Return how many failure notifications are unread, stopping at cap + 1 (read "more than cap")."""
    return AdminNotification.objects.filter(read_at__isnull=True).order_by()[: cap + 1].count()


def unread_label(count: int, cap: int = UNREAD_CAP) -> str:
    return f"{cap}+" if count > cap else str(count)


def newest_first(jobs: list[BackgroundTask]) -> list[BackgroundTask]:
    """Sort jobs of any types the way every list shows them: newest first."""
    return sorted(jobs, key=lambda job: (job.created_at, job.pk), reverse=True)


def _hydrate(rows: list[UnifiedTask | TaskRef]) -> list[BackgroundTask]:
    """Turn unified rows into concrete job instances (one query per task type present)."""
    ids_by_type: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        ids_by_type[row.task_type].append(row.pk)
    found: dict[int, BackgroundTask] = {}
    for task_type, ids in ids_by_type.items():
        model = get_task_model(task_type)
        if model is not None:
            found.update(model.objects.in_bulk(ids))
    return [found[row.pk] for row in rows if row.pk in found]


def unified_rows(*, task_type: str | None = None, status: str | None = None, after: int | None = None):
    """Return the unified list's rows, newest first, filtered by type and status (and ids above ``after``)."""
    rows = UnifiedTask.objects.all()
    if task_type:
        rows = rows.filter(task_type=task_type)
    if status:
        rows = rows.filter(status=status)
    if after is not None:
        rows = rows.filter(pk__gt=after)
    return rows.order_by("-created_at", "-id")


class BackgroundTasksService:
    """Unified service for all background task types."""

    def get_all_running_tasks(self) -> list[BackgroundTask]:
        """Return every running job of every type, newest first."""
        return self.get_tasks(status=TaskStatus.RUNNING, limit=None)

    def get_tasks(
        self,
        task_type: str | None = None,
        status: str | None = None,
        limit: int | None = DEFAULT_LIMIT,
        after: int | None = None,
    ) -> list[BackgroundTask]:
        """Return jobs, newest first, filtered by type and status (and ids above ``after``)."""
        rows = unified_rows(task_type=task_type, status=status, after=after)
        if limit is not None:
            rows = rows[:limit]
        return _hydrate(list(rows))

    def get_tasks_by_ids(self, ids) -> list[BackgroundTask]:
        """Return the jobs with these ids, of any type, newest first (unknown ids are left out)."""
        return newest_first(_hydrate(list(TaskRef.objects.filter(pk__in=list(ids)))))

    def latest_id(self) -> int:
        """Return the newest job id handed out so far (0 when there is none)."""
        return TaskRef.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def get_task_by_id(self, task_id: int, task_type: str | None = None) -> BackgroundTask | None:
        """Return the job with this id (of any type unless one is given), or None.

        Without a type, the type remembered for the id is tried first (a job never changes type);
        an id whose remembered type has no such row (deleted, its id reused) is looked up again.
        """
        if task_type is not None:
            model = get_task_model(task_type)
            return model.objects.with_related().filter(pk=task_id).first() if model else None
        for _attempt in range(2):
            task_type = task_type_cache.get(task_id)
            model = get_task_model(task_type) if task_type else None
            if model is None:
                return None
            job = model.objects.with_related().filter(pk=task_id).first()
            if job is not None:
                return job
            task_type_cache.forget(task_id)
        return None

    def count_by_status_and_type(self, *, cap: int | None = None, max_age: float = 0) -> dict[str, dict[str, int]]:
        """Return {task_type: {status: count}} of every job type.

        With ``cap``, each count stops at cap + 1 (read "more than cap"): a bounded index scan per
        status instead of a GROUP BY over the whole table, so a page can poll it. With ``max_age``,
        a result up to that many seconds old may be returned (many open pages share one).
        """
        if max_age > 0:
            from django.core.cache import cache

            key = f"{COUNTS_CACHE_KEY}:{cap}"
            return cache.get_or_set(key, lambda: self.count_by_status_and_type(cap=cap), max_age)
        if cap is not None:
            return {
                task_type: {status.value: model.objects.filter(status=status).order_by().values("pk")[: cap + 1].count() for status in TaskStatus}
                for task_type, model in task_models().items()
            }
        from django.db.models import Count

        counts: dict[str, dict[str, int]] = {t: {} for t in task_models()}
        for model in task_models().values():
            for row in model.objects.values("status").annotate(n=Count("pk")).order_by():
                counts[model.task_type][row["status"]] = row["n"]
        return counts


background_tasks_service = BackgroundTasksService()
