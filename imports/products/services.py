"""Write side of the product import: store the source, create the job, run it batch by batch."""
from __future__ import annotations

import csv
import io
import logging
import operator
import os
import queue
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from background_tasks.jobs import JobFailed, JobProgress, Outcome
from background_tasks.services import background_task_create
from wizamart.marketplace.feed import FeedValueError
from wizamart.marketplace.models import Vendor

from ..conf import human_size, imports_settings
from .models import REJECTED_SAMPLE_SIZE, MarketplaceImportJob
from .reading import FeedFormat, FeedRows, FeedUnusable, detect_format, row_parser
from .sources import FeedDownloadError, download_feed
from .staged import TABLE_PREFIX, NotStageable, StagedFeed, staging_reason
from .writers import PostgresCopyWriter, ProductWriter, product_writer

FEEDS_DIR = "imports/feeds"
REPORTS_DIR = "imports/error-reports"
DUPLICATE_EXAMPLES = 5
STAGED_LOAD_PERCENT = 40  # progress while PostgreSQL reads and checks the file; the batches take the rest
STAGED_READ_PERCENT = 30  # of which reading
logger = logging.getLogger(__name__)
_first = operator.itemgetter(0)


def private_storage():
    """The storage of uploaded feeds and error reports (never served directly)."""
    return storages["private"]


def product_import_store_feed(*, content) -> str:
    """Store an uploaded feed under a generated name in private storage; return that name."""
    name = f"{FEEDS_DIR}/{uuid.uuid4().hex}.csv"
    return private_storage().save(name, content if hasattr(content, "chunks") else File(content, name=name))


def product_import_create(
    *,
    vendor: Vendor,
    triggered_by: str,
    upload=None,
    source_url: str = "",
    dry_run: bool = False,
    deactivate_missing: bool = False,
    marketplace: str = "letzshop",
) -> MarketplaceImportJob:
    """Store the feed (an uploaded file) or note its URL, create the job and queue it."""
    source_file = source_name = ""
    if upload is not None:
        source_name = os.path.basename(getattr(upload, "name", "") or "")[:255]
        source_file = product_import_store_feed(content=upload)
    return background_task_create(
        model=MarketplaceImportJob,
        triggered_by=triggered_by,
        vendor=vendor,
        marketplace=marketplace,
        source_file=source_file,
        source_name=source_name,
        source_url=source_url,
        dry_run=dry_run,
        deactivate_missing=deactivate_missing,
    )


@dataclass
class ImportCounts:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    duplicate_examples: list[str] = field(default_factory=list)
    rejected_sample: list[dict] = field(default_factory=list)


class ErrorReport:
    """The rejected rows as they came, plus an ``error`` column: a CSV to fix and import again."""

    def __init__(self, fmt: FeedFormat):
        self.fmt = fmt  # its header is read at the first rejected row (the format may be read again before)
        self._file = None
        self._text = None
        self._writer = None

    def add(self, cells: list[str], reason: str) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(mode="w+b")
            # UTF-8 with a BOM so spreadsheets show accents right; the import reads it back.
            self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="", write_through=True)
            self._writer = csv.writer(self._text)
            self._writer.writerow([*self.fmt.header, "error"])
        width = len(self.fmt.header)
        cells = (cells + [""] * width)[:width] if len(cells) != width else cells
        self._writer.writerow([*cells, reason])

    def save(self, job: MarketplaceImportJob) -> str:
        if self._file is None:
            return ""
        self._text.flush()
        self._file.seek(0)
        name = f"{REPORTS_DIR}/{job.pk}-{uuid.uuid4().hex[:12]}.csv"
        try:
            return private_storage().save(name, File(self._file, name=name))
        finally:
            self.discard()

    def discard(self) -> None:
        if self._text is not None:
            self._text.close()
            self._file = self._text = self._writer = None


@contextmanager
def opened_source(job: MarketplaceImportJob, progress: JobProgress):
    """Yield (opener, size) for the job's feed; a URL is downloaded to a temporary file first."""
    if job.source_file:
        storage = private_storage()
        if not storage.exists(job.source_file):
            raise JobFailed("The uploaded feed file is no longer available; upload it again.")
        yield (lambda: storage.open(job.source_file, "rb")), storage.size(job.source_file)
        return
    if not job.source_url:
        raise JobFailed("The job has neither a file nor a URL to import.")
    progress(0, "Downloading the feed", force=True)
    with tempfile.NamedTemporaryFile(prefix="feed-", suffix=".csv") as target:
        try:
            size = download_feed(
                job.source_url,
                target,
                on_progress=lambda done: progress(None, f"Downloading the feed ({done // 1024:,} KB)"),
            )
        except FeedDownloadError as exc:
            raise JobFailed(str(exc)) from None
        target.flush()
        path = Path(target.name)
        yield (lambda: open(path, "rb")), size


def _remove_old_report(job: MarketplaceImportJob) -> None:
    if job.error_report:
        private_storage().delete(job.error_report)


def product_import_execute(*, job: MarketplaceImportJob, progress: JobProgress) -> Outcome:
    """Import the job's feed into the vendor's products, one committed batch at a time."""
    _remove_old_report(job)
    counts = ImportCounts()
    MarketplaceImportJob.objects.filter(pk=job.pk).update(
        rows_total=0, rows_created=0, rows_updated=0, rows_unchanged=0, rows_rejected=0, rows_deactivated=0,
        duplicate_skus=0, rejected_sample=[], warnings=[], error_report="", file_info={},
    )
    with opened_source(job, progress) as (opener, size):
        try:
            # PostgreSQL checks the encoding of a file it reads: no need to read it all here first.
            fmt = detect_format(opener, verify=not may_stage())
        except FeedUnusable as exc:
            raise JobFailed(str(exc)) from None
        job.file_info = fmt.describe()
        job.save(update_fields=["file_info"])
        report = ErrorReport(fmt)
        writer = product_writer(vendor_id=job.vendor_id, fields=fmt.fields, now=timezone.now(), dry_run=job.dry_run)
        writer.open()
        try:
            deactivated = _import_rows(job, progress, opener, size, fmt, writer, counts, report)
        except BaseException:
            report.discard()
            raise
        finally:
            writer.close()
    job.error_report = report.save(job)
    _save_counts(job, counts, deactivated)
    outcome = _outcome(job, counts, deactivated)
    job.warnings = list(outcome.warnings)
    job.save(update_fields=["warnings"])
    return outcome


@dataclass
class _Batch:
    """Rows read and parsed ahead of the writes: the accepted values and what to report about the rest."""

    rows: list[tuple] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)  # every row's sku, rejected rows' too, repeats included
    rejected: list[tuple[int, list[str], str, str]] = field(default_factory=list)  # line, cells, reason, sku
    total: int = 0
    position: int = 0  # bytes of the file read when the batch was cut
    error: BaseException | None = None  # reading stopped here; this batch is not written
    # The plan of its writes (see _plan_batch), as the writer's prepare() made them: each sku's
    # first row, then the last rows that differ; the rows themselves are let go once planned.
    firsts: object = None
    first_count: int = 0
    finals: object = None
    repeats_unchanged: int = 0
    repeats_updated: int = 0


class _BatchReader:
    """Read, parse and plan the feed's batches in a thread, ahead of the writes.

    Parsing is Python work and a batch's COPY and upsert are database work: while this process
    waits for PostgreSQL (the GIL released), the next batch is parsed. The thread touches no
    database connection; a bounded queue keeps memory flat.
    """

    AHEAD = 1  # batches parsed and waiting: the writes are the slower side, and each held batch costs memory

    def __init__(self, opener, fmt: FeedFormat, batch_size: int, writer: ProductWriter):
        self.writer = writer
        self.rows = FeedRows(opener, fmt)
        self.parse = row_parser(fmt)
        self.fmt = fmt
        self.batch_size = batch_size
        self.queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=self.AHEAD)
        self.stopped = threading.Event()

    def __iter__(self) -> Iterator[_Batch]:
        thread = threading.Thread(target=self._read, name="product-import-reader", daemon=True)
        thread.start()
        try:
            while (batch := self.queue.get()) is not None:
                yield batch
        finally:
            self.stopped.set()
            thread.join()

    def _put(self, item: _Batch | None) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        parse, fmt, size = self.parse, self.fmt, self.batch_size
        batch = _Batch()
        records = iter(self.rows)
        try:
            for line, cells in records:
                try:
                    batch.rows.append(parse(cells))
                except FeedValueError as exc:
                    batch.rejected.append((line, cells, str(exc), _cell(cells, fmt, "id")))
                    continue
                if len(batch.rows) >= size:
                    if not self._put(self._cut(batch)):
                        return
                    batch = _Batch()
            if batch.rows or batch.rejected:
                if not self._put(self._cut(batch)):
                    return
        except BaseException as exc:  # handed to the writing side, which raises it there
            batch.error = exc
            self._put(batch)
        finally:
            records.close()
        self._put(None)

    def _cut(self, batch: _Batch) -> _Batch:
        batch.position = self.rows.position()
        return _finish_batch(batch, self.writer)


def _finish_batch(batch: _Batch, writer: ProductWriter) -> _Batch:
    """Derive a parsed batch's counts and skus once (every record is accepted or rejected), then plan it."""
    batch.total = len(batch.rows) + len(batch.rejected)
    batch.skus = [*map(_first, batch.rows), *(sku for _, _, _, sku in batch.rejected if sku)]
    _plan_batch(batch, writer)
    return batch


def _write_batches(job, progress, size, writer: ProductWriter, counts: ImportCounts, report, batches) -> None:
    """Count and report each batch's rejected rows, then write it in its own transaction."""
    number = 0
    for batch in batches:
        if batch.error is not None:
            if isinstance(batch.error, FeedUnusable):
                raise JobFailed(f"{batch.error} Rows before it were imported.") from None
            raise batch.error
        _report_rejected(batch, counts, report)
        if not batch.skus:  # only rejected rows without an sku: nothing to write or remember
            continue
        number += 1
        done = batch.position
        estimate = max(number, -(-number * size // done) if done else number)
        progress(min(95, done * 95 // size) if size else None, f"Processing batch {number} of {estimate}")
        with writer.batch():
            _write_batch(writer, batch, counts)
            _save_counts(job, counts, 0)


def _report_rejected(batch: _Batch, counts: ImportCounts, report: ErrorReport) -> None:
    """Count a batch's rows and put its rejected ones in the sample and the error report, in file order."""
    counts.total += batch.total
    for line, cells, reason, sku in batch.rejected:
        counts.rejected += 1
        report.add(cells, reason)
        if len(counts.rejected_sample) < REJECTED_SAMPLE_SIZE:
            counts.rejected_sample.append({"line": line, "sku": sku, "error": reason})


def _import_rows(job, progress, opener, size, fmt, writer: ProductWriter, counts: ImportCounts, report) -> int:
    batch_size = max(1, int(imports_settings.BATCH_SIZE))
    staged, fmt = _staged_feed(job, progress, opener, size, fmt, writer)
    report.fmt = fmt
    job.file_info["reader"] = "postgresql" if staged is not None else "python"
    job.save(update_fields=["file_info"])
    try:
        if staged is not None:
            _write_staged_batches(job, progress, staged, batch_size, fmt, writer, counts, report)
        else:
            # Closed explicitly: on an error the reading thread stops now, not when the traceback goes.
            with closing(iter(_BatchReader(opener, fmt, batch_size, writer))) as batches:
                _write_batches(job, progress, size, writer, counts, report, batches)

        source = staged if staged is not None and staged.seen_view else writer
        counts.duplicates, counts.duplicate_examples = source.duplicates(DUPLICATE_EXAMPLES)
        if not job.deactivate_missing:
            return 0
        if counts.total - counts.rejected == 0:
            return 0  # an empty or wholly rejected feed must never empty the catalogue
        progress(97, "Deactivating products missing from the feed", force=True)
        return writer.deactivate_missing()
    finally:
        if staged is not None:
            staged.drop()


def may_stage() -> bool:
    """Whether PostgreSQL may read the feed itself (see imports.products.staged)."""
    return (
        connection.vendor == "postgresql"
        and imports_settings.USE_COPY
        and imports_settings.PARSE_IN_DATABASE
    )


def _staged_feed(job, progress, opener, size, fmt: FeedFormat, writer) -> tuple[StagedFeed | None, FeedFormat]:
    """Load the file into PostgreSQL to be read there, or return None: it is read in Python.

    Also return the file's format: read again in full when only its start had been read.
    """
    if not may_stage():
        return None, fmt
    staged = _try_staging(job, progress, opener, size, fmt, writer)
    if staged is None and not fmt.verified:
        # Only the start of the file was read as UTF-8: read it all now, and try again if the
        # encoding turns out to be another one PostgreSQL reads (cp1252 past the first 256 KB).
        try:
            verified = detect_format(opener)
        except FeedUnusable as exc:
            raise JobFailed(str(exc)) from None
        changed = verified.encoding != fmt.encoding
        fmt = verified
        job.file_info.update(fmt.describe())
        job.save(update_fields=["file_info"])
        if changed:
            staged = _try_staging(job, progress, opener, size, fmt, writer)
    return staged, fmt


def _try_staging(job, progress, opener, size, fmt: FeedFormat, writer: PostgresCopyWriter) -> StagedFeed | None:
    reason = staging_reason(fmt, opener)
    if reason is None:
        StagedFeed.drop_leftovers()
        staged = StagedFeed(
            fmt, vendor_id=writer.vendor_id, fields=writer.fields, now=writer.now, dry_run=writer.dry_run,
            name=f"{TABLE_PREFIX}_{job.pk}",
        )
        total = human_size(size)

        def loaded(done: int) -> None:
            progress(done * STAGED_READ_PERCENT // size if size else None, f"Reading the feed ({human_size(done)} of {total})")

        def checked(done: int) -> None:
            share = STAGED_LOAD_PERCENT - STAGED_READ_PERCENT
            progress(STAGED_READ_PERCENT + done * share // staged.records, f"Checking the rows ({done:,} of {staged.records:,})")

        try:
            staged.load(opener, loaded, checked)
            job.file_info.pop("python_reader_because", None)  # from a first try in another encoding
            if staged.seen_view:
                writer.seen_elsewhere = True
            return staged
        except NotStageable as exc:
            reason = str(exc)
            staged.drop()
        except BaseException:
            staged.drop()
            raise
    # Shown in the job's details: why this file was read row by row in Python.
    job.file_info["python_reader_because"] = reason
    logger.info("%s: the feed is read in Python (%s)", job, reason)
    return None


def _write_staged_batches(job, progress, staged: StagedFeed, batch_size: int, fmt, writer, counts, report) -> None:
    """Write the staged records batch by batch: plain rows in SQL, the others parsed in Python."""
    parse = row_parser(fmt)
    batches = -(-staged.records // batch_size)
    share = 100 - STAGED_LOAD_PERCENT - 5
    found = staged.batches(batch_size)
    try:
        for number in range(1, batches + 1):
            progress(STAGED_LOAD_PERCENT + (number - 1) * share // batches, f"Processing batch {number} of {batches}")
            # A batch, its rows for Python and the counts commit together (a batch run on the
            # second connection has committed its own writes there).
            with writer.batch():
                staged_batch = next(found)
                counts.total += staged_batch.done
                counts.created += staged_batch.created
                counts.updated += staged_batch.updated
                counts.unchanged += staged_batch.done - staged_batch.created - staged_batch.updated
                if staged_batch.rest:
                    lines = staged.lines([rec for rec, _ in staged_batch.rest])
                    batch = _Batch()
                    for rec, cells in staged_batch.rest:
                        try:
                            batch.rows.append(parse(cells))
                        except FeedValueError as exc:
                            batch.rejected.append((lines[rec], cells, str(exc), _cell(cells, fmt, "id")))
                    _finish_batch(batch, writer)
                    _report_rejected(batch, counts, report)
                    if batch.skus:
                        _write_batch(writer, batch, counts)
                _save_counts(job, counts, 0)
    finally:
        found.close()
        staged.close_helper()


def _cell(cells: list[str], fmt: FeedFormat, column: str) -> str:
    index = fmt.columns.get(column)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _plan_batch(batch: _Batch, writer: ProductWriter) -> None:
    """Plan a batch's writes in file order: a repeated sku updates (or leaves) what its earlier row wrote.

    Pure Python on the batch alone (the reading thread runs it): each sku's first row is
    applied, then its last row if that differs; repeats in between only count.
    """
    rows, batch.rows = batch.rows, []
    firsts, finals = rows, []
    if len(set(map(_first, rows))) != len(rows):  # an sku repeats within the batch
        first: dict[str, tuple] = {}
        last: dict[str, tuple] = {}
        for values in rows:
            sku = values[0]
            previous = last.get(sku)
            if previous is None:
                first[sku] = values
            elif values == previous:
                batch.repeats_unchanged += 1
            else:
                batch.repeats_updated += 1
            last[sku] = values
        firsts = list(first.values())
        finals = [values for sku, values in last.items() if values is not first[sku] and values != first[sku]]
    batch.first_count = len(firsts)
    if firsts:
        batch.firsts = writer.prepare(firsts)
    if finals and not writer.dry_run:
        batch.finals = writer.prepare(finals)


def _write_batch(writer: ProductWriter, batch: _Batch, counts: ImportCounts) -> None:
    """Write a planned batch: its skus, each sku's first row, then the final rows of repeated skus."""
    writer.remember(batch.skus)
    counts.unchanged += batch.repeats_unchanged
    counts.updated += batch.repeats_updated
    if batch.first_count:
        created, updated = writer.apply(batch.firsts)
        counts.created += created
        counts.updated += updated
        counts.unchanged += batch.first_count - created - updated
    if batch.finals is not None:
        writer.apply(batch.finals)


def _save_counts(job: MarketplaceImportJob, counts: ImportCounts, deactivated: int) -> None:
    job.rows_total = counts.total
    job.rows_created = counts.created
    job.rows_updated = counts.updated
    job.rows_unchanged = counts.unchanged
    job.rows_rejected = counts.rejected
    job.rows_deactivated = deactivated
    job.duplicate_skus = counts.duplicates
    job.rejected_sample = counts.rejected_sample
    job.save(
        update_fields=[
            "rows_total", "rows_created", "rows_updated", "rows_unchanged", "rows_rejected", "rows_deactivated",
            "duplicate_skus", "rejected_sample", "error_report",
        ]
    )


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _outcome(job: MarketplaceImportJob, counts: ImportCounts, deactivated: int) -> Outcome:
    verb = "would be " if job.dry_run else ""
    parts = [
        f"{_plural(counts.total, 'row')}: {counts.created:,} {verb}created, {counts.updated:,} {verb}updated, "
        f"{counts.unchanged:,} unchanged, {counts.rejected:,} rejected"
    ]
    if deactivated:
        parts.append(f"{_plural(deactivated, 'product')} {verb}deactivated")
    if job.dry_run:
        parts.append("dry run: nothing written")
    warnings = []
    if counts.rejected:
        warnings.append(f"{_plural(counts.rejected, 'row')} rejected; download the error report to fix and re-import them.")
    if counts.duplicates:
        examples = ", ".join(counts.duplicate_examples)
        warnings.append(
            f"{_plural(counts.duplicates, 'row')} repeated an sku already in the file (e.g. {examples}); the last row of each sku won."
        )
    if job.deactivate_missing and counts.total - counts.rejected == 0:
        warnings.append("No row was imported, so no product was deactivated.")
    return Outcome(warnings=warnings, message="; ".join(parts))


def product_import_copy_local_file(*, path: str | os.PathLike) -> str:
    """Store a local feed file (the command's PATH) in private storage; return its stored name."""
    with open(path, "rb") as source:
        return product_import_store_feed(content=source)

