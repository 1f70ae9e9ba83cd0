"""The staged feed: the file in PostgreSQL, taken through its stages (COPY, check, batches) for one job."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import psycopg
from django.db import connection

from wizamart.marketplace.models import Product

from ...conf import imports_settings
from ..presets import ParentFill
from ..reading import FeedFormat, Opener
from ..writers import drop_seen_skus
from .batches import StagedBatch, deallocate, prepare_batches, staged_batches
from .checking import (
    check_records,
    count_repeated_skus,
    find_repeated_skus,
    refuse_long_values,
    start_early_work,
)
from .copying import copy_feed
from .groups import fill_groups
from .lines import LineNumbers
from .parents import add_parent_columns, fill_parents
from .scan import NotStageable
from .second import SharedWork
from .statements import RecordSql, StagedStatements
from .tables import TABLE_PREFIX, StagingTables, create_raw_table, drop_leftovers, drop_tables

# Whether the feed's skus are a view over the staged file (rather than the writer's table).
REPEATED_COUNT = "SELECT COALESCE(SUM(n - 1), 0) FROM {dup} WHERE sku <> ''"
REPEATED_EXAMPLES = "SELECT sku FROM {dup} WHERE sku <> '' ORDER BY sku LIMIT %s"


class StagedFeed:
    """The raw feed in a staging table (one text column per header cell), read by PostgreSQL.

    ``load()`` runs the COPY and the check; ``batches()`` writes the records; ``drop()`` removes
    the tables, and ``drop_leftovers()`` those of a job that ended without it.
    """

    drop_leftovers = staticmethod(drop_leftovers)

    def __init__(
        self, fmt: FeedFormat, *, vendor_id: int, fields: Sequence[str], now: datetime, dry_run: bool,
        name: str = TABLE_PREFIX,
    ):
        self.fmt = fmt
        self.vendor_id = vendor_id
        self.fields = tuple(fields)
        self.now = now
        self.dry_run = dry_run
        self.tables = StagingTables.named(name)
        self.raw_table = self.tables.raw
        self.cells = [f"c{i}" for i in range(len(fmt.header))]
        self.records = 0
        self.seen_view = False  # the feed's skus are the staged column as it is
        self.prepared = False
        self.shared = SharedWork(enabled=False)  # the second connection, while it is used
        self.statements: StagedStatements | None = None
        self.params: dict = {}
        self.line_numbers = LineNumbers(self.tables.raw, self.cells)

    def load(
        self, opener: Opener, on_progress: Callable[[int], None], on_checked: Callable[[int], None] | None = None
    ) -> int:
        """COPY the file into the staging table and check its records; return their count; raise
        NotStageable. ``on_progress`` is told the bytes sent, ``on_checked`` the records checked."""
        create_raw_table(self.tables, self.cells)
        try:
            self.records, scan = copy_feed(
                opener, fmt=self.fmt, table=self.tables.raw, cells=self.cells, on_progress=on_progress
            )
        except psycopg.errors.DataError as exc:  # a ragged row, a blank line, bytes not in the encoding ...
            raise NotStageable(f"the server could not read it: {str(exc).splitlines()[0]}") from None
        # The SQL looks for the apostrophe in the trimmed value, where it may follow whitespace
        # (" '=x") that the scan did not take for the start of the value.
        record = RecordSql(fmt=self.fmt, strip=scan.strip, apostrophe=scan.apostrophe or scan.strip)
        # The skus are the staged column as it is only when it is one of the file's cells.
        self.seen_view = not (scan.strip or scan.apostrophe) and self.fmt.columns["id"] < len(self.fmt.header)
        self.statements = self._statements(record)
        self.params = {**record.params, "vendor": self.vendor_id, "now": self.now}
        # The second connection shares the work outside the caller's transaction (it sees only
        # what is committed).
        enabled = bool(imports_settings.SECOND_CONNECTION) and not connection.in_atomic_block
        self.shared = SharedWork(enabled=enabled)
        parents = isinstance(self.fmt.group, ParentFill)
        if parents:
            add_parent_columns(self.tables, self.fmt)
        # A preset's fill (one statement on one core) and the count of the repeated skus run side
        # by side when the count does not read what the fill adds.
        counting = self.fmt.group is not None and not self.statements.repeated_skus_read_fills()
        early = False
        if counting:
            count_repeated_skus(self.statements, shared=self.shared, params=self.params)
            # A group fill only reads the records: meanwhile the second connection indexes them.
            early = not parents and start_early_work(self.statements, shared=self.shared)
        if parents:
            # While the second connection counts nothing, it sets half the records' parent values.
            fill_parents(
                self.tables, self.fmt, records=self.records, shared=None if counting else self.shared, strip=scan.strip
            )
        elif self.fmt.group is not None:
            fill_groups(self.tables, self.fmt, strip=scan.strip, params=record.params)
        self._check(on_checked or (lambda done: None), counting=counting, early=early)
        if self.seen_view:
            with connection.cursor() as cursor:
                drop_seen_skus(cursor)
                cursor.execute(self.statements.seen_view())
        return self.records

    def _statements(self, record: RecordSql) -> StagedStatements:
        written = ("sku", *record.changed())
        assert written == self.fields, (written, self.fields)
        return StagedStatements(
            tables=self.tables,
            record=record,
            cells=self.cells,
            product_table=connection.ops.quote_name(Product._meta.db_table),
            compare=Product.objects.filter(vendor_id=self.vendor_id).exists(),
            dry_run=self.dry_run,
        )

    def _check(self, on_checked: Callable[[int], None], *, counting: bool, early: bool) -> None:
        """Find the repeated skus (``counting``: their count is started; ``early``: the second
        connection indexes the records and looks for long values after it), check every record,
        prepare the batches."""
        # A first import (nothing to compare) looks for values too long for Python's csv in the
        # file, while the repeated skus are counted; another looks in what the check noted.
        first = not self.statements.compare
        find_repeated_skus(
            self.statements, shared=self.shared, params=self.params, counting=counting, early=early,
            meanwhile=(lambda: refuse_long_values(self.statements)) if first and not early else None,
        )
        check_records(
            self.statements, shared=self.shared, params=self.params, records=self.records, on_checked=on_checked
        )
        if not first:
            refuse_long_values(self.statements)
        prepare_batches(self.statements, shared=self.shared, params=self.params)
        self.prepared = True

    def batches(self, size: int) -> Iterator[StagedBatch]:
        """Write the records, ``size`` at a time, in order; yield what each batch did."""
        return staged_batches(
            self.statements, shared=self.shared, params=self.params, records=self.records, size=size,
            seen_view=self.seen_view,
        )

    def lines(self, records: Sequence[int]) -> dict[int, int]:
        """Return the line each record starts on, as Python's csv module counts lines."""
        return self.line_numbers.lines(records)

    def repeated_skus(self) -> set[str]:
        """The skus the file repeats (their records are all read in Python)."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT sku FROM {self.tables.dup}")
            return {row[0] for row in cursor.fetchall()}

    def duplicates(self, examples: int) -> tuple[int, list[str]]:
        """Like ProductWriter.duplicates(), from the repeated skus found before the check."""
        with connection.cursor() as cursor:
            cursor.execute(REPEATED_COUNT.format(dup=self.tables.dup))
            repeats = cursor.fetchone()[0]
            if not repeats:
                return 0, []
            cursor.execute(REPEATED_EXAMPLES.format(dup=self.tables.dup), [examples])
            return repeats, [row[0] for row in cursor.fetchall()]

    def close_helper(self) -> None:
        """Let the second connection go."""
        self.shared.close()

    def drop(self) -> None:
        """Remove what the feed made: the second connection, the batch statement, the view, the tables."""
        self.close_helper()
        with connection.cursor() as cursor:
            if self.prepared:
                deallocate(cursor)
                self.prepared = False
            drop_seen_skus(cursor, view_only=True)
        drop_tables(self.tables)

