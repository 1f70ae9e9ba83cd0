"""Stage 3, the check: find the repeated skus, then note every record SQL does not write itself (or, for a
vendor with products, the ones to write); a first import's batches do that as they write."""
from __future__ import annotations

import csv
from collections.abc import Callable

from django.db import connection, transaction

from .scan import NotStageable
from .second import SharedWork, local
from .statements import StagedStatements
from .tables import create_special_table_sql

CHECK_RECORDS = 25_000  # records checked per statement
# The count of repeated skus hashes every sku in memory.
REPEATED_SETTINGS = "SET work_mem TO '256MB'; SET jit TO off"
# While both connections work, neither starts parallel workers beside them.
NO_PARALLEL_WORKERS = "SET max_parallel_workers_per_gather TO 0"
# The check looks each product up by its index (and each range of records by theirs); compiling
# its expressions (JIT) costs more than it saves.
CHECK_SETTINGS = (
    "SET work_mem TO '64MB'; SET jit TO off; SET enable_hashjoin TO off; SET enable_mergejoin TO off; "
    "SET enable_seqscan TO off"
)
# The records are indexed while the other connection works (on the job's connection for its
# transaction only: local()), without parallel workers beside it.
NO_PARALLEL_MAINTENANCE = "SET max_parallel_maintenance_workers TO 0"


def index_records_sql(table: str) -> str:
    """Each stage after the COPY reads a range of records: by their number (named, so that either
    connection may make it)."""
    return f"CREATE INDEX IF NOT EXISTS {table}_rec ON {table} (rec)"


def start_early_work(statements: StagedStatements, *, shared: SharedWork) -> bool:
    """For a first import whose repeated skus are counted beside a group fill (which only reads the
    records): give the second connection, after the count, the records' index and the look for
    values too long for Python's csv, the fill's work meanwhile being this connection's. Return
    whether it was given them (find_repeated_skus takes the answer)."""
    if statements.compare or shared.second is None:
        return False
    shared.submit(NO_PARALLEL_MAINTENANCE)
    shared.submit(index_records_sql(statements.tables.raw))
    shared.submit(statements.long_values_in_file(csv.field_size_limit()), answer=True)
    return True


def count_repeated_skus(statements: StagedStatements, *, shared: SharedWork, params: dict) -> None:
    """Start counting the repeated skus on the second connection, if there is one (find_repeated_skus
    waits for the count)."""
    shared.submit(f"{REPEATED_SETTINGS}; {NO_PARALLEL_WORKERS}")
    shared.submit(statements.repeated_skus(), params, answer=True)


def find_repeated_skus(
    statements: StagedStatements, *, shared: SharedWork, params: dict, counting: bool = False,
    meanwhile: Callable[[], None] | None = None, early: bool = False,
) -> None:
    """Count the repeated skus (on the second connection if there is one) while the records are
    indexed here, and make the table the check fills. ``counting``: the count was started before
    (count_repeated_skus); ``meanwhile``: more work for this connection while the count runs;
    ``early``: the second connection was given the index and the look for long values after the
    count (start_early_work): their answer is taken here (raise NotStageable)."""
    if not counting:
        count_repeated_skus(statements, shared=shared, params=params)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(local(NO_PARALLEL_MAINTENANCE))
        if not early:
            cursor.execute(index_records_sql(statements.tables.raw))
        cursor.execute(create_special_table_sql(statements.tables))
    if meanwhile is not None:
        meanwhile()
    if shared.answer() is None:  # no second connection (any more): counted here
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(local(REPEATED_SETTINGS))
            cursor.execute(statements.repeated_skus(), params)
    if early:
        found = shared.answer()
        if found is None:  # the second connection stopped before: both here
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(local(NO_PARALLEL_MAINTENANCE))
                cursor.execute(index_records_sql(statements.tables.raw))
            refuse_long_values(statements)
        elif found[0]:
            raise NotStageable(_too_long(csv.field_size_limit()))


def check_records(
    statements: StagedStatements, *, shared: SharedWork, params: dict, records: int, on_checked: Callable[[int], None]
) -> None:
    """Check the records CHECK_RECORDS at a time (shared with the second connection: SharedWork.alternate);
    ``on_checked`` is told the records checked so far. A first import has nothing to compare:
    its batches check their records as they write them (StagedStatements.batch)."""
    if not statements.compare:
        return
    shared.submit(CHECK_SETTINGS)
    check = statements.check()
    ranges = [(lo, min(lo + CHECK_RECORDS - 1, records)) for lo in range(1, records + 1, CHECK_RECORDS)]

    def here(item: dict) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(local(CHECK_SETTINGS))
            cursor.execute(check, item)

    items = [{**params, "lo": lo, "hi": hi} for lo, hi in ranges]
    for (_, hi), _ in zip(ranges, shared.alternate(check, items, here), strict=True):
        on_checked(hi)


def refuse_long_values(statements: StagedStatements) -> None:
    """Raise NotStageable when a value is longer than Python's csv reads: that fails the file in
    Python, so the file is read there (a value's bytes bound its characters from above).

    After the check, only the records it noted as long are looked at; a first import (not
    checked before its batches) looks at the file's values of more bytes than the check's limit.
    """
    limit = csv.field_size_limit()  # reading.CSV_FIELD_LIMIT unless changed
    with connection.cursor() as cursor:
        if statements.compare:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {statements.tables.special} WHERE long)")
            if not cursor.fetchone()[0]:
                return
            cursor.execute(statements.long_values(limit))
        else:
            cursor.execute(statements.long_values_in_file(limit))
        if cursor.fetchone()[0]:
            raise NotStageable(_too_long(limit))


def _too_long(limit: int) -> str:
    return f"a value longer than {limit:,} characters"
