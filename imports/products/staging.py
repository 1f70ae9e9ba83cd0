"""The staged path of the product import: PostgreSQL reads the file when it can (see imports.products.staged)."""
from __future__ import annotations

import logging

from django.db import connection

from background_tasks.jobs import JobFailed
from wizamart.marketplace.feed import FeedValueError

from ..conf import human_size, imports_settings
from .batches import ParsedBatch, SeenSkus, finish_batch, report_rejected, sku_cell, write_batch
from .reading import FeedFormat, FeedUnusable, Opener, SkipRow, detect_format, row_parser
from .run import ImportRun, save_counts
from .staged import TABLE_PREFIX, NotStageable, StagedBatch, StagedFeed, staging_reason

STAGED_LOAD_PERCENT = 40  # progress while PostgreSQL reads and checks the file; the batches take the rest
STAGED_READ_PERCENT = 30  # of which reading
logger = logging.getLogger(__name__)


def may_stage() -> bool:
    """Whether PostgreSQL may read the feed itself (see imports.products.staged)."""
    return connection.vendor == "postgresql" and imports_settings.USE_COPY and imports_settings.PARSE_IN_DATABASE


def feed_format(
    opener: Opener, *, verify: bool = True, currency: str = "EUR", preset: str | None = None,
    mapping: dict[str, str] | None = None,
) -> FeedFormat:
    """Detect the feed's format; a file that cannot be imported fails the job with the reason.

    ``currency`` is what prices that name none are read as (the vendor's default).
    """
    try:
        fmt = detect_format(opener, verify=verify, preset=preset, mapping=mapping)
    except FeedUnusable as exc:
        raise JobFailed(str(exc)) from None
    fmt.currency = currency
    return fmt


def staged_feed(run: ImportRun) -> StagedFeed | None:
    """Load the file into PostgreSQL to be read there, or return None: it is read in Python.

    When only the start of the file had been read, ``run.fmt`` is read again in full.
    """
    if not may_stage():
        return None
    staged = try_staging(run)
    if staged is None and not run.fmt.verified:
        # Only the start of the file was read as UTF-8: read it all now, and try again if the
        # encoding turns out to be another one PostgreSQL reads (cp1252 past the first 256 KB).
        verified = feed_format(
            run.opener, currency=run.fmt.currency, preset=run.fmt.forced_preset, mapping=run.fmt.overrides
        )
        changed = verified.encoding != run.fmt.encoding
        run.fmt = verified
        run.job.file_info.update(verified.describe())
        run.job.save(update_fields=["file_info"])
        if changed:
            staged = try_staging(run)
    return staged


def try_staging(run: ImportRun) -> StagedFeed | None:
    """Stage the file as it is detected, or note why it is read in Python and return None."""
    job, writer = run.job, run.writer
    reason = staging_reason(run.fmt, run.opener)
    if reason is None:
        StagedFeed.drop_leftovers()
        staged = StagedFeed(
            run.fmt, vendor_id=writer.vendor_id, fields=writer.fields, now=writer.now, dry_run=writer.dry_run,
            name=f"{TABLE_PREFIX}_{job.pk}",
        )
        try:
            staged.load(run.opener, *_load_progress(run, staged))
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


def _load_progress(run: ImportRun, staged: StagedFeed):
    """The progress of the COPY (bytes sent) and of the check (records checked)."""
    size, total = run.size, human_size(run.size)

    def loaded(done: int) -> None:
        run.progress(done * STAGED_READ_PERCENT // size if size else None, f"Reading the feed ({human_size(done)} of {total})")

    def checked(done: int) -> None:
        share = STAGED_LOAD_PERCENT - STAGED_READ_PERCENT
        run.progress(STAGED_READ_PERCENT + done * share // staged.records, f"Checking the rows ({done:,} of {staged.records:,})")

    return loaded, checked


def write_staged_batches(run: ImportRun, staged: StagedFeed, *, batch_size: int) -> None:
    """Write the staged records batch by batch: plain rows in SQL, the others parsed in Python."""
    parse = row_parser(run.fmt)
    seen = SeenSkus(only=staged.repeated_skus())
    batches = -(-staged.records // batch_size)
    share = 100 - STAGED_LOAD_PERCENT - 5
    found = staged.batches(batch_size)
    try:
        for number in range(1, batches + 1):
            run.progress(STAGED_LOAD_PERCENT + (number - 1) * share // batches, f"Processing batch {number} of {batches}")
            # A batch, its rows for Python and the counts commit together (a batch run on the
            # second connection has committed its own writes there).
            with run.writer.batch():
                _write_staged_batch(run, staged, next(found), parse=parse, seen=seen)
                save_counts(run.job, run.counts)
    finally:
        found.close()
        staged.close_helper()


def _write_staged_batch(run: ImportRun, staged: StagedFeed, batch: StagedBatch, *, parse, seen: SeenSkus) -> None:
    """Count what SQL wrote of a batch, then parse and write its other rows in Python."""
    counts = run.counts
    counts.total += batch.done
    counts.skipped += batch.skipped
    counts.created += batch.created
    counts.updated += batch.updated
    counts.unchanged += batch.done - batch.created - batch.updated
    if not batch.rest:
        return
    parsed = ParsedBatch()
    rejected = []
    for rec, cells in batch.rest:
        try:
            parsed.rows.append(parse(cells))
        except SkipRow:
            parsed.skipped += 1
        except FeedValueError as exc:
            rejected.append((rec, cells, str(exc)))
    # Only the rejected rows need their line (counting lines reads every record's text before them).
    lines = staged.lines([rec for rec, _, _ in rejected])
    parsed.rejected = [(lines[rec], cells, reason, sku_cell(cells, run.fmt)) for rec, cells, reason in rejected]
    finish_batch(parsed, run.writer, seen)
    report_rejected(parsed, run)
    if parsed.skus:
        write_batch(run.writer, parsed, counts)
