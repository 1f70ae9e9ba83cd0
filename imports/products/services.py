"""Write side of the product import: store the source, create the job, run it batch by batch."""
from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from background_tasks.files import open_stream, pending_upload_claim, pending_upload_store, private_storage
from background_tasks.jobs import JobFailed, JobProgress, Outcome
from background_tasks.services import background_task_create
from wizamart.marketplace.models import Vendor

from ..conf import imports_settings
from .batches import write_python_batches
from .mappings import applied_mapping, vendor_column_mapping_get, vendor_column_mapping_save
from .models import MarketplaceImportJob
from .reading import FeedFormat, FeedUnusable, Opener, detect_format
from .report import ErrorReport
from .run import ImportCounts, ImportRun, save_counts
from .sources import FeedDownloadError, download_feed
from .staging import feed_format, may_stage, staged_feed, write_staged_batches
from .writers import product_writer
from .xml_feed import xml_feed_format

FEEDS_DIR = "imports/feeds"
DUPLICATE_EXAMPLES = 5


def _feed_name() -> str:
    return f"{FEEDS_DIR}/{uuid.uuid4().hex}.csv"


def _as_file(content, name: str):
    return content if hasattr(content, "chunks") else File(content, name=name)


def product_import_store_feed(*, content) -> str:
    """Store an uploaded feed under a generated name in private storage; return that name."""
    name = _feed_name()
    return private_storage().save(name, _as_file(content, name))


def product_import_store_pending_feed(*, content) -> str:
    """Store an uploaded feed whose import is not created yet (it waits on the mapping screen); return its name.

    ``product_import_create(stored_feed=...)`` takes it; if none does within
    ``BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"]``, the retention prune deletes it.
    """
    name = _feed_name()
    return pending_upload_store(name, _as_file(content, name))


def product_import_create(
    *,
    vendor: Vendor,
    triggered_by: str,
    upload=None,
    source_url: str = "",
    dry_run: bool = False,
    deactivate_missing: bool = False,
    marketplace: str = "letzshop",
    preset: str = "",
    mapping: dict[str, str] | None = None,
    stored_feed: str = "",
    source_name: str = "",
) -> MarketplaceImportJob:
    """Store the feed (an uploaded file) or note its URL, create the job and queue it.

    ``stored_feed``: a feed already in private storage (product_import_store_pending_feed), named
    ``source_name``; the job takes it, or UploadExpired says it is gone (pruned).
    ``preset`` / ``mapping``: how to read its columns; the vendor keeps them for its next imports.
    """
    source_file = stored_feed
    source_name = source_name[:255]
    if upload is not None:
        source_name = os.path.basename(getattr(upload, "name", "") or "")[:255]
        source_file = product_import_store_feed(content=upload)
    with transaction.atomic():
        if stored_feed:
            pending_upload_claim(stored_feed)
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
            requested_preset=preset or "",
            requested_mapping=mapping or {},
        )


@contextmanager
def opened_source(job: MarketplaceImportJob, progress: JobProgress):
    """Yield (opener, size) for the job's feed; a URL is downloaded to a temporary file first."""
    if job.source_file:
        storage = private_storage()
        if not storage.exists(job.source_file):
            raise JobFailed("The uploaded feed file is no longer available; upload it again.")
        # Each pass over the feed (format, checks, rows) opens it again: a stream, never a local copy.
        yield (lambda: open_stream(job.source_file)), storage.size(job.source_file)
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
    MarketplaceImportJob.objects.filter(pk=job.pk).update(
        rows_total=0, rows_created=0, rows_updated=0, rows_unchanged=0, rows_rejected=0, rows_skipped=0, rows_repeated=0,
        rows_deactivated=0,
        duplicate_skus=0, rejected_sample=[], warnings=[], error_report="", file_info={},
    )
    with opened_source(job, progress) as (opener, size):
        # PostgreSQL checks the encoding of a file it reads: no need to read it all here first.
        fmt = xml_feed_format(opener, vendor_code=job.vendor.code, size=size, progress=progress)
        if fmt is not None:
            fmt.currency = job.vendor.default_currency
            job.file_info = fmt.describe()
            job.save(update_fields=["file_info"])
        else:
            fmt = _applied_format(job, opener, verify=not may_stage())
        writer = product_writer(vendor_id=job.vendor_id, fields=fmt.fields, now=timezone.now(), dry_run=job.dry_run)
        run = ImportRun(
            job=job, progress=progress, opener=opener, size=size, fmt=fmt, writer=writer, report=ErrorReport(fmt)
        )
        writer.open()
        try:
            deactivated = _import_rows(run)
        except BaseException:
            run.report.discard()
            raise
        finally:
            writer.close()
    job.error_report = run.report.save(job)
    save_counts(job, run.counts, deactivated)
    outcome = _outcome(job, run.counts, deactivated, run.fmt)
    job.warnings = list(outcome.warnings)
    job.save(update_fields=["warnings"])
    return outcome


def _applied_format(job: MarketplaceImportJob, opener: Opener, *, verify: bool) -> FeedFormat:
    """Detect the feed's format with the preset and mapping asked for, else with the vendor's saved
    mapping when the file has the columns it was made for; note on the job what is applied."""
    preset, mapping = job.requested_preset, job.requested_mapping
    asked = bool(preset or mapping)
    origin = "given" if asked else "detected"
    saved = None if asked else vendor_column_mapping_get(vendor=job.vendor)
    if saved is not None and saved.applies_to(_header(opener) or []):
        preset, mapping, origin = saved.preset, saved.mapping, "saved"
    fmt = feed_format(
        opener, verify=verify, currency=job.vendor.default_currency, preset=preset or None, mapping=mapping or None
    )
    if asked:
        # Asked for by hand: kept for the vendor's next files with these columns.
        vendor_column_mapping_save(
            vendor=job.vendor, header=fmt.header, preset=preset, mapping=mapping, updated_by=job.triggered_by
        )
    job.preset, job.column_mapping = fmt.preset or "", applied_mapping(fmt)
    job.file_info = {
        **fmt.describe(),
        "mapping_from": origin,
        "currency": f"prices without a currency read as {fmt.currency}, the vendor's default",
    }
    job.save(update_fields=["preset", "column_mapping", "file_info"])
    return fmt


def _header(opener: Opener) -> list[str] | None:
    """The feed's source columns (None when it has no header at all): its format may still need a mapping.
    Read from the file's start only: the full format (and the encoding check) comes next, once."""
    try:
        return detect_format(opener, verify=False).header
    except FeedUnusable as exc:
        return exc.header


def _import_rows(run: ImportRun) -> int:
    """Write the feed's rows (staged in PostgreSQL, or read in Python); return the products deactivated."""
    job, writer, counts = run.job, run.writer, run.counts
    batch_size = max(1, int(imports_settings.BATCH_SIZE))
    staged = staged_feed(run)
    run.report.fmt = run.fmt
    job.file_info["reader"] = "postgresql" if staged is not None else "python"
    job.save(update_fields=["file_info"])
    try:
        if staged is not None:
            write_staged_batches(run, staged, batch_size=batch_size)
        else:
            write_python_batches(run, batch_size=batch_size)
        source = staged if staged is not None and staged.seen_view else writer
        counts.duplicates, counts.duplicate_examples = source.duplicates(DUPLICATE_EXAMPLES)
        if not job.deactivate_missing:
            return 0
        if counts.total - counts.rejected == 0:
            return 0  # an empty or wholly rejected feed must never empty the catalogue
        run.progress(97, "Deactivating products missing from the feed", force=True)
        return writer.deactivate_missing()
    finally:
        if staged is not None:
            staged.drop()


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _outcome(job: MarketplaceImportJob, counts: ImportCounts, deactivated: int, fmt: FeedFormat) -> Outcome:
    """The job's message (what it counted) and its warnings."""
    verb = "would be " if job.dry_run else ""
    parts = [
        f"{_plural(counts.total, 'row')}: {counts.created:,} {verb}created, {counts.updated:,} {verb}updated, "
        f"{counts.unchanged:,} unchanged, {counts.rejected:,} rejected"
        + (f", {counts.repeated:,} repeated an earlier sku" if counts.repeated else "")
    ]
    if counts.skipped:
        parts.append(f"{_plural(counts.skipped, 'row')} skipped ({fmt.skip_reason})")
    if deactivated:
        parts.append(f"{_plural(deactivated, 'product')} {verb}deactivated")
    if job.dry_run:
        parts.append("dry run: nothing written")
    warnings = []
    if counts.total == 0 and not counts.skipped:
        warnings.append("The file has a header but no product rows: nothing was imported.")
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

