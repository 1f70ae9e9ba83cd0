"""Write side of the product import: store the source, create the job, run it batch by batch."""
from __future__ import annotations

import csv
import io
import os
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.utils import timezone

from background_tasks.services import JobFailed, JobProgress, Outcome, background_task_create
from wizamart.marketplace.feed import FeedValueError
from wizamart.marketplace.models import Vendor

from .conf import import_setting
from .models import REJECTED_SAMPLE_SIZE, MarketplaceImportJob
from .reading import FeedFormat, FeedRows, FeedUnusable, detect_format, row_parser
from .sources import FeedDownloadError, download_feed
from .writers import ProductWriter, product_writer

FEEDS_DIR = "imports/feeds"
REPORTS_DIR = "imports/error-reports"
DUPLICATE_EXAMPLES = 5


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
        self.header = [*fmt.header, "error"]
        self.width = len(fmt.header)
        self._file = None
        self._text = None
        self._writer = None

    def add(self, cells: list[str], reason: str) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(mode="w+b")
            # UTF-8 with a BOM so spreadsheets show accents right; the import reads it back.
            self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="", write_through=True)
            self._writer = csv.writer(self._text)
            self._writer.writerow(self.header)
        cells = (cells + [""] * self.width)[: self.width] if len(cells) != self.width else cells
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
            fmt = detect_format(opener)
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


def _import_rows(job, progress, opener, size, fmt, writer: ProductWriter, counts: ImportCounts, report) -> int:
    parse = row_parser(fmt)
    rows = FeedRows(opener, fmt)
    batch_size = max(1, int(import_setting("IMPORTS_BATCH_SIZE")))
    batch: list[tuple] = []
    batch_skus: list[str] = []
    number = 0

    def flush():
        nonlocal number
        number += 1
        done = rows.position()
        estimate = max(number, -(-number * size // done) if done else number)
        progress(min(95, done * 95 // size) if size else None, f"Processing batch {number} of {estimate}")
        _write_batch(writer, batch, batch_skus, counts)
        _save_counts(job, counts, 0)
        batch.clear()
        batch_skus.clear()

    try:
        for line, cells in rows:
            counts.total += 1
            try:
                values = parse(cells)
            except FeedValueError as exc:
                counts.rejected += 1
                reason = str(exc)
                report.add(cells, reason)
                if len(counts.rejected_sample) < REJECTED_SAMPLE_SIZE:
                    counts.rejected_sample.append({"line": line, "sku": _cell(cells, fmt, "id"), "error": reason})
                sku = _cell(cells, fmt, "id")
                if sku:
                    batch_skus.append(sku)
                continue
            batch.append(values)
            batch_skus.append(values[0])
            if len(batch) >= batch_size:
                flush()
        if batch or batch_skus:
            flush()
    except FeedUnusable as exc:
        raise JobFailed(f"{exc} Rows before it were imported.") from None

    counts.duplicates, counts.duplicate_examples = writer.duplicates(DUPLICATE_EXAMPLES)
    if not job.deactivate_missing:
        return 0
    if counts.total - counts.rejected == 0:
        return 0  # an empty or wholly rejected feed must never empty the catalogue
    progress(97, "Deactivating products missing from the feed", force=True)
    return writer.deactivate_missing()


def _cell(cells: list[str], fmt: FeedFormat, column: str) -> str:
    index = fmt.columns.get(column)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _write_batch(writer: ProductWriter, batch: list[tuple], batch_skus: list[str], counts: ImportCounts) -> None:
    """Apply a batch in file order: a repeated sku updates (or leaves) what its earlier row wrote."""
    first: dict[str, tuple] = {}
    last: dict[str, tuple] = {}
    for values in batch:
        sku = values[0]
        previous = last.get(sku)
        if previous is None:
            first[sku] = values
        elif values == previous:
            counts.unchanged += 1
        else:
            counts.updated += 1
        last[sku] = values
    writer.remember(batch_skus)
    if first:
        created, updated = writer.apply(list(first.values()))
        counts.created += created
        counts.updated += updated
        counts.unchanged += len(first) - created - updated
    finals = [values for sku, values in last.items() if values is not first[sku] and values != first[sku]]
    if finals and not writer.dry_run:
        writer.apply(finals)


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

