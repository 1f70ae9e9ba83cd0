"""Conditional polls: an ETag from the job rows' own columns, and 304 Not Modified when nothing changed."""
from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import wraps

from django.db import connections
from django.utils.cache import parse_etags, patch_cache_control
from rest_framework import status
from rest_framework.response import Response

from .models import TaskRef
from .registry import get_task_model
from .selectors import task_type_cache, unified_rows

# Columns no status body shows: a heartbeat alone must not turn a 304 into a 200.
INVISIBLE_COLUMNS = frozenset({"heartbeat_at", "queued_at"})
# A status body rendered for an ETag serves the other polls of that ETag for this long (see _BodyCache).
BODY_CACHE_SECONDS = 2.0
_BODY_CACHE_SIZE = 10_000


class _BodyCache:
    """job id -> (ETag, status body, expiry), per process: the pages polling one job share its body.

    A running job changes about once a second and many pages poll it meanwhile; each of them would
    otherwise load the job again and serialize it. The body is stored under the ETag it was rendered
    for (rendered after the ETag was read, so never older than its row) and served only for that
    ETag and for BODY_CACHE_SECONDS, which bounds how long what the row does not hold (a vendor's
    code, an export's expiry passing) may lag.
    """

    def __init__(self, size: int):
        self._size = size
        self._bodies: OrderedDict[int, tuple[str, object, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: int, etag: str):
        with self._lock:
            entry = self._bodies.get(job_id)
        if entry is None or entry[0] != etag or entry[2] < time.monotonic():
            return None
        return entry[1]

    def put(self, job_id: int, etag: str, body) -> None:
        with self._lock:
            self._bodies[job_id] = (etag, body, time.monotonic() + BODY_CACHE_SECONDS)
            self._bodies.move_to_end(job_id)
            while len(self._bodies) > self._size:
                self._bodies.popitem(last=False)


body_cache = _BodyCache(_BODY_CACHE_SIZE)


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


@functools.cache
def _one_row_sql(model) -> str:
    """The SELECT of one job's visible columns by id, compiled once per model (a poll skips the ORM)."""
    query = model._default_manager.filter(pk=0).order_by().values_list(*_fingerprint_columns(model)).query
    sql, _params = query.sql_with_params()  # one parameter, the id
    return sql


def _one_row(task_type: str, job_id: int) -> tuple | None:
    """Return one job's visible columns as the database sends them (no conversion), or None."""
    model = get_task_model(task_type)
    if model is None:
        return None
    with connections[model.objects.db].cursor() as cursor:
        cursor.execute(_one_row_sql(model), [job_id])
        return cursor.fetchone()


def job_etag(job_id: int) -> str | None:
    """Return the weak ETag of one job's status body (one small query once its type is known), or None."""
    for _attempt in range(2):
        task_type = task_type_cache.get(job_id)
        if task_type is None:
            return None
        row = _one_row(task_type, job_id)
        if row is not None:
            return f'W/"{_digest([task_type, row])}"'
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
    The view's 200 must be the job's status body alone (the same for everyone allowed to see it): it is
    kept per ETag and served to the other polls of that ETag (``body_cache``).
    """

    @wraps(method)
    def wrapper(view, request, *args, **kwargs):
        job_id = kwargs.get("job_id", kwargs.get("pk"))
        etag = job_etag(int(job_id)) if str(job_id).isdigit() else None
        return _answer(request, etag, lambda: _shared_body(job_id, etag, lambda: method(view, request, *args, **kwargs)))

    return wrapper


def _shared_body(job_id, etag: str | None, render: Callable[[], Response]) -> Response:
    """Answer the body kept for this ETag, or render it and keep it (no ETag: no job, render)."""
    if etag is None:
        return render()
    body = body_cache.get(int(job_id), etag)
    if body is not None:
        return Response(body)
    response = render()
    if response.status_code == status.HTTP_200_OK:
        body_cache.put(int(job_id), etag, response.data)
    return response


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
