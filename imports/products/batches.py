"""The Python path of the product import: parse the feed in a thread, plan each batch, write it in one transaction."""
from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from background_tasks.jobs import JobFailed
from background_tasks.producer import Producer
from wizamart.marketplace.feed import FeedValueError

from .models import REJECTED_SAMPLE_SIZE
from .reading import FeedFormat, FeedUnusable, Opener, SkipRow, row_parser
from .run import ImportCounts, ImportRun, save_counts
from .writers import ProductWriter

# Batches parsed and waiting: the writes are the slower side, and each held batch costs memory.
BATCHES_AHEAD = 1
_first = operator.itemgetter(0)


@dataclass
class ParsedBatch:
    """Rows read and parsed ahead of the writes: the accepted values and what to report about the rest."""

    rows: list[tuple] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)  # every row's sku, rejected rows' too, repeats included
    rejected: list[tuple[int, list[str], str, str]] = field(default_factory=list)  # line, cells, reason, sku
    total: int = 0
    skipped: int = 0  # rows a preset skips (parent rows): not counted in total
    position: int = 0  # bytes of the file read when the batch was cut
    # The plan of its writes (see plan_batch), as the writer's prepare() made them: each sku's
    # first row, then the last rows that differ; the rows themselves are let go once planned.
    firsts: object = None
    first_count: int = 0
    finals: object = None
    carried: object = None  # the last rows of skus an earlier batch applied
    repeated: int = 0  # rows whose sku an earlier accepted row of the file had


class SeenSkus:
    """The skus of the rows accepted so far, to tell a repeated sku's later rows; ``only`` limits
    it to skus known to repeat (the staged path knows them before reading a row)."""

    def __init__(self, only: set[str] | None = None):
        self.only = only
        self.skus: set[str] = set()

    def add(self, skus) -> None:
        if self.only is None:
            self.skus.update(skus)
        elif self.only:
            self.skus.update(sku for sku in skus if sku in self.only)


def sku_cell(cells: list[str], fmt: FeedFormat) -> str:
    """The sku of a row as sent (for the rejected rows' sample and the count of repeats)."""
    return fmt.key_of(fmt.extend(list(cells)) if fmt.derived else cells)


def parsed_batches(*, opener: Opener, fmt: FeedFormat, size: int, writer: ProductWriter) -> Iterator[ParsedBatch]:
    """Yield the feed's batches of ``size`` accepted rows (and the rejected ones among them), planned.

    Pure Python on the file alone, no database: it runs in the reading thread.
    """
    rows = fmt.rows(opener)
    parse = row_parser(fmt)
    seen = SeenSkus()
    batch = ParsedBatch()
    with closing(iter(rows)) as records:
        for line, cells in records:
            try:
                batch.rows.append(parse(cells))
            except SkipRow:
                batch.skipped += 1
                continue
            except FeedValueError as exc:
                batch.rejected.append((line, cells, str(exc), sku_cell(cells, fmt)))
                continue
            if len(batch.rows) >= size:
                batch.position = rows.position()
                yield finish_batch(batch, writer, seen)
                batch = ParsedBatch()
    if batch.rows or batch.rejected or batch.skipped:
        batch.position = rows.position()
        yield finish_batch(batch, writer, seen)


def finish_batch(batch: ParsedBatch, writer: ProductWriter, seen: SeenSkus) -> ParsedBatch:
    """Derive a parsed batch's counts and skus once (every record is accepted or rejected), then plan it."""
    batch.total = len(batch.rows) + len(batch.rejected)
    batch.skus = [*map(_first, batch.rows), *(sku for _, _, _, sku in batch.rejected if sku)]
    plan_batch(batch, writer, seen)
    return batch


def plan_batch(batch: ParsedBatch, writer: ProductWriter, seen: SeenSkus) -> None:
    """Plan a batch's writes in file order: a repeated sku's later rows update what its first row wrote.

    Pure Python on the batch alone (the reading thread runs it): each sku's first row is applied
    and counted (created, updated or unchanged), then its last row if that differs; every later
    row of an sku counts as repeated (the last one wins), whether it is in this batch or a later one.
    """
    rows, batch.rows = batch.rows, []
    carried: dict[str, tuple] = {}
    if seen.skus:
        earlier = [values for values in rows if values[0] in seen.skus]
        if earlier:
            rows = [values for values in rows if values[0] not in seen.skus]
            carried = {values[0]: values for values in earlier}  # each sku's last row
            batch.repeated += len(earlier)
    firsts, finals = rows, []
    if len(set(map(_first, rows))) != len(rows):  # an sku repeats within the batch
        first: dict[str, tuple] = {}
        last: dict[str, tuple] = {}
        for values in rows:
            sku = values[0]
            if sku in last:
                batch.repeated += 1
            else:
                first[sku] = values
            last[sku] = values
        firsts = list(first.values())
        finals = [values for sku, values in last.items() if values is not first[sku] and values != first[sku]]
    seen.add(map(_first, firsts))
    batch.first_count = len(firsts)
    if firsts:
        batch.firsts = writer.prepare(firsts)
    if finals and not writer.dry_run:
        batch.finals = writer.prepare(finals)
    if carried and not writer.dry_run:
        batch.carried = writer.prepare(list(carried.values()))


def report_rejected(batch: ParsedBatch, run: ImportRun) -> None:
    """Count a batch's rows and put its rejected ones in the sample and the error report, in file order."""
    counts = run.counts
    counts.total += batch.total
    counts.skipped += batch.skipped
    for line, cells, reason, sku in batch.rejected:
        counts.rejected += 1
        run.report.add(cells, reason)
        if len(counts.rejected_sample) < REJECTED_SAMPLE_SIZE:
            counts.rejected_sample.append({"line": line, "sku": sku, "error": reason})


def write_batch(writer: ProductWriter, batch: ParsedBatch, counts: ImportCounts) -> None:
    """Write a planned batch: its skus, each sku's first row, then the final rows of repeated skus."""
    writer.remember(batch.skus)
    counts.repeated += batch.repeated
    if batch.first_count:
        created, updated = writer.apply(batch.firsts)
        counts.created += created
        counts.updated += updated
        counts.unchanged += batch.first_count - created - updated
    if batch.finals is not None:
        writer.apply(batch.finals)
    if batch.carried is not None:
        writer.apply(batch.carried)


def _unusable_as_failure(batches: Iterable[ParsedBatch]) -> Iterator[ParsedBatch]:
    """The batches; a file that stops being readable fails the job with a readable message."""
    try:
        yield from batches
    except FeedUnusable as exc:
        raise JobFailed(f"{exc} Rows before it were imported.") from None


def write_python_batches(run: ImportRun, *, batch_size: int) -> None:
    """Read the feed in Python batch by batch, parsed in a thread while the batch before is written.

    Parsing is Python work and a batch's COPY and upsert are database work: while this process
    waits for PostgreSQL (the GIL released), the next batch is parsed. Each batch's rejected rows
    are counted and reported, then its rows are written in its own transaction.
    """
    source = parsed_batches(opener=run.opener, fmt=run.fmt, size=batch_size, writer=run.writer)
    number = 0
    with Producer(source, ahead=BATCHES_AHEAD, name="product-import-reader") as batches:
        for batch in _unusable_as_failure(batches):
            report_rejected(batch, run)
            if not batch.skus:  # only rejected rows without an sku: nothing to write or remember
                continue
            number += 1
            done, size = batch.position, run.size
            estimate = max(number, -(-number * size // done) if done else number)
            run.progress(min(95, done * 95 // size) if size else None, f"Processing batch {number} of {estimate}")
            with run.writer.batch():
                write_batch(run.writer, batch, run.counts)
                save_counts(run.job, run.counts)
