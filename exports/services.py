"""Write side of exports: create a product export, run it, purge expired files."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta
from gzip import GzipFile

from django.core.files import File
from django.core.files.storage import Storage
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from background_tasks.files import private_storage
from background_tasks.jobs import JobInterrupted, JobProgress, Outcome
from background_tasks.services import background_task_create
from wizamart.marketplace.models import Vendor

from .conf import exports_settings
from .feeds import FeedFilters, FeedSize, write_feed
from .google import missing_attributes, missing_warnings
from .models import ProductExportJob

logger = logging.getLogger(__name__)

EXPORT_DIR = "exports"
# Files being written live here, beside their final place, so that moving them in is one rename
# (a bucket has no such place: they are written to a local temporary file, then uploaded in parts).
PARTIAL_DIR = f"{EXPORT_DIR}/.partial"
PURGE_BATCH = 500
GZIP_LEVEL = 6
WRITE_BUFFER = 1024 * 1024
WRITE_AHEAD = 4


def retention() -> timedelta:
    return timedelta(hours=exports_settings.RETENTION_HOURS)


def product_export_create(
    *,
    triggered_by: str,
    vendor: Vendor | None = None,
    format: str = ProductExportJob.Format.CSV,
    gzip: bool = False,
    availability: str = "",
    updated_since: datetime | None = None,
) -> ProductExportJob:
    """Create a product export job and dispatch it once the transaction commits."""
    return background_task_create(
        model=ProductExportJob,
        triggered_by=triggered_by,
        vendor=vendor,
        format=format,
        gzip=gzip,
        availability=availability or "",
        updated_since=updated_since,
    )


class _HashingWriter(io.RawIOBase):
    """Pass bytes through to a file while counting them and hashing them, in a second thread.

    Hashing and file writes release the GIL, so they run while the export reads the next rows;
    at most WRITE_AHEAD blocks wait, so memory stays flat. finish() waits for the last block.
    """

    def __init__(self, target):
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-writer")
        self._pending: deque[Future] = deque()

    def writable(self) -> bool:
        return True

    def _write(self, data: bytes) -> None:
        self.sha256.update(data)
        self.target.write(data)

    def write(self, data) -> int:
        # The caller may reuse its buffer once write() returns: the thread gets a copy.
        block = bytes(data)
        self.size += len(block)
        while len(self._pending) >= WRITE_AHEAD or (self._pending and self._pending[0].done()):
            self._pending.popleft().result()
        self._pending.append(self._writer.submit(self._write, block))
        return len(block)

    def finish(self) -> None:
        """Wait until every block is hashed and written; raise the first write error."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        # Also on failure or cancel: nothing is written once the file is closed.
        self._writer.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        super().close()


class _LocalFile(File):
    """A finished local file, open: a local storage moves it into place, a bucket uploads it in parts."""

    def __init__(self, handle, path: str):
        super().__init__(handle, name=os.path.basename(path))
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


def _partial_file(storage: Storage) -> str:
    try:
        directory = storage.path(PARTIAL_DIR)
    except NotImplementedError:  # remote storage: any local directory will do
        directory = None
    if directory:
        os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="export-", suffix=".partial", dir=directory)
    os.close(fd)
    return path


def _stored_name(job: ProductExportJob) -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return f"{EXPORT_DIR}/{stamp}-{job.download_name}"


def _channel(job: ProductExportJob) -> dict[str, str]:
    scope = job.vendor.name if job.vendor_id else "all vendors"
    return {
        "title": f"Wizamart products — {scope}",
        "link": exports_settings.FEED_LINK,
        "description": f"Product feed exported on {timezone.now():%Y-%m-%d %H:%M} UTC (export #{job.pk}).",
    }


def product_export_execute(*, job: ProductExportJob, progress: JobProgress) -> Outcome:
    """Stream the filtered products into a private file; record its size, checksum and expiry."""
    storage = private_storage()
    filters = FeedFilters(vendor_id=job.vendor_id, availability=job.availability, updated_since=job.updated_since)
    size = filters.measure()
    expected = size.rows
    progress(0, f"Exporting {expected:,} products", force=True)

    def on_batch(rows: int) -> None:
        progress(min(99, rows * 100 // max(expected, 1)), f"{rows:,} of {expected:,} rows written")

    partial = _partial_file(storage)
    try:
        with open(partial, "wb") as raw, closing(_HashingWriter(raw)) as sink:
            rows = _write_export(job, filters=filters, size=size, sink=sink, on_batch=on_batch)
        # Last chance to honour a cancel before the file becomes visible.
        progress(99, f"{rows:,} rows written; storing the file", force=True)
        with open(partial, "rb") as finished:
            name = storage.save(_stored_name(job), _LocalFile(finished, partial))
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    _record_file(job, storage=storage, name=name, rows=rows, sink=sink)
    stored = filesizeformat(sink.size)
    if job.format == ProductExportJob.Format.XML:
        # What Google Merchant Center requires of every item, checked on the exported products.
        job.missing_attributes = missing_attributes(filters.queryset(), all_vendors=filters.vendor_id is None)
    warnings = missing_warnings(job.missing_attributes)
    if rows == 0:
        warnings.insert(0, "No product matched: the file holds no rows.")
    job.warnings = warnings
    job.save(update_fields=["missing_attributes", "warnings"])
    return Outcome(warnings=warnings, message=f"{rows:,} rows exported ({stored})")


def _write_export(
    job: ProductExportJob, *, filters: FeedFilters, size: FeedSize, sink: _HashingWriter, on_batch
) -> int:
    """Write the feed through a buffer (and gzip, if asked) into ``sink``; return the rows written."""
    buffered = io.BufferedWriter(sink, buffer_size=WRITE_BUFFER)
    # mtime=0: the same rows give the same bytes, hence the same checksum.
    out = GzipFile(fileobj=buffered, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) if job.gzip else buffered
    rows = write_feed(filters=filters, size=size, fmt=job.format, out=out, xml_channel=_channel(job), on_batch=on_batch)
    if out is not buffered:
        out.close()
    buffered.flush()
    sink.finish()
    return rows


def _record_file(job: ProductExportJob, *, storage: Storage, name: str, rows: int, sink: _HashingWriter) -> None:
    """Record the stored file on the job, if it still runs; else delete the file and stop."""
    now = timezone.now()
    outcome = {
        "row_count": rows,
        "file_size": sink.size,
        "sha256": sink.sha256.hexdigest(),
        "file_name": name,
        "expires_at": now + retention(),
        "file_deleted_at": None,
    }
    if not ProductExportJob.objects.running().filter(pk=job.pk).update(**outcome):
        storage.delete(name)
        raise JobInterrupted("The job is no longer running")
    for field, value in outcome.items():
        setattr(job, field, value)


def product_exports_purge_expired(*, now: datetime | None = None, batch_size: int = PURGE_BATCH) -> int:
    """Delete export files past their retention, batch by batch; the jobs stay, marked as file deleted."""
    now = now or timezone.now()
    storage = private_storage()
    purged = 0
    failed: set[int] = set()
    while True:
        batch = list(
            ProductExportJob.objects.with_expired_file(now=now)
            .exclude(pk__in=failed)
            .order_by("expires_at", "pk")
            .values_list("pk", "file_name")[:batch_size]
        )
        if not batch:
            break
        deleted = []
        for pk, name in batch:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("Could not delete expired export file %s of job #%s", name, pk)
                failed.add(pk)
            else:
                deleted.append(pk)
        # Conditional on the row still pointing at a stored file: a concurrent purge counts each once.
        purged += ProductExportJob.objects.with_stored_file().filter(pk__in=deleted).update(file_deleted_at=now)
    _purge_abandoned_partials(storage, older_than=now - retention())
    return purged


def _purge_abandoned_partials(storage: Storage, *, older_than: datetime) -> None:
    """Remove partial files left by a worker that died while writing."""
    try:
        directory = storage.path(PARTIAL_DIR)
    except NotImplementedError:
        return
    if not os.path.isdir(directory):
        return
    cutoff = older_than.timestamp()
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                try:
                    os.remove(entry.path)
                except FileNotFoundError:
                    pass

