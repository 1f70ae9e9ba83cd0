"""Conditional polls: an ETag from the job rows' own columns, and 304 Not Modified when nothing changed."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import wraps

from django.utils.cache import parse_etags, patch_cache_control
from rest_framework import status
from rest_framework.response import Response

from .models import TaskRef
from .registry import get_task_model
from .selectors import unified_rows

# Columns no status body shows: a heartbeat alone must not turn a 304 into a 200.
INVISIBLE_COLUMNS = frozenset({"heartbeat_at", "queued_at"})
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


def _fingerprint_columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in INVISIBLE_COLUMNS]


def _digest(parts: Iterable) -> str:
    return hashlib.blake2b(repr(list(parts)).encode(), digest_size=12).hexdigest()


def _rows_of_type(task_type: str, ids: list[int]) -> list[tuple]:
    """Return the visible columns of these jobs of one type (one query), in id order."""
    model = get_task_model(task_type)
    if model is None:
        return []
    return list(model.objects.filter(pk__in=ids).order_by("pk").values_list(*_fingerprint_columns(model)))


def job_etag(job_id: int) -> str | None:
    """Return the weak ETag of one job's status body (one small query once its type is known), or None."""
    for _attempt in range(2):
        task_type = task_type_cache.get(job_id)
        if task_type is None:
            return None
        rows = _rows_of_type(task_type, [job_id])
        if rows:
            return f'W/"{_digest([task_type, rows])}"'
        # The remembered type has no such row (the job was deleted and its id reused): look it up again.
        task_type_cache.forget(job_id)
    return None


def _listed_ids(*, task_type=None, status=None, limit=None, ids=None, after=None) -> dict[int, str]:
    """Return {job id: task_type} of the jobs the unified list answers for these filters (as its view does)."""
    listed: dict[int, str] = {}
    if ids is not None:
        listed.update(TaskRef.objects.filter(pk__in=ids).values_list("pk", "task_type"))
    if ids is None or after is not None:
        rows = unified_rows(task_type=task_type, status=status, after=after)
        listed.update(rows.values_list("pk", "task_type")[:limit])
    return listed


def list_etag(**filters) -> str:
    """Return the weak ETag of a unified list: which jobs it holds and their visible columns."""
    listed = _listed_ids(**filters)
    by_type: dict[str, list[int]] = {}
    for job_id, task_type in listed.items():
        by_type.setdefault(task_type, []).append(job_id)
    parts = [sorted(listed)]
    for task_type in sorted(by_type):
        parts.append([task_type, _rows_of_type(task_type, by_type[task_type])])
    return f'W/"{_digest(parts)}"'


def _not_modified(request, etag: str | None) -> bool:
    if etag is None:
        return False
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    # Weak comparison (RFC 9110 13.1.2): the opaque part decides.
    return "*" in wanted or any(tag.removeprefix("W/") == etag.removeprefix("W/") for tag in wanted)


def _answer(request, etag: str | None, handler: Callable[[], Response]) -> Response:
    if _not_modified(request, etag):
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    else:
        response = handler()
        if etag is None or response.status_code != status.HTTP_200_OK:
            return response
    response["ETag"] = etag
    # The browser may keep the body but must ask again every time (a poll wants the news).
    patch_cache_control(response, private=True, no_cache=True)
    return response


def conditional_job(method):
    """Decorate a view's ``get(request, job_id)``: 304 when the job is unchanged since the client's ETag.

    It runs inside the view's handler, so authentication and permissions have already been checked.
    The ETag is computed before the body: a change in between makes the next poll a 200, never a stale 304.
    """

    @wraps(method)
    def wrapper(view, request, *args, **kwargs):
        job_id = kwargs.get("job_id", kwargs.get("pk"))
        etag = job_etag(int(job_id)) if str(job_id).isdigit() else None
        return _answer(request, etag, lambda: method(view, request, *args, **kwargs))

    return wrapper


def conditional_list(filters_of: Callable):
    """Decorate a list view's ``get``: ``filters_of(view, request)`` returns its validated filters or None."""

    def decorate(method):
        @wraps(method)
        def wrapper(view, request, *args, **kwargs):
            filters = filters_of(view, request)
            etag = list_etag(**filters) if filters is not None else None
            return _answer(request, etag, lambda: method(view, request, *args, **kwargs))

        return wrapper

    return decorate


def list_filters(view, request) -> dict | None:
    """The filters of the unified list view, or None when they are invalid (the view answers 400)."""
    filters = view.filter_serializer_class(data=request.query_params)
    return dict(filters.validated_data) if filters.is_valid() else None
