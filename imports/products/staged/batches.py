"""Stage 4, the batches: one prepared statement writes a batch's plain records; the rest go back to Python."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from django.db import IntegrityError, connection, transaction

from .second import SharedWork, local
from .statements import StagedStatements

BATCH_STATEMENT = "imports_staged_batch"
# A first import's batch that found a product of one of its skus is written by the upsert instead.
UPSERT_STATEMENT = "imports_staged_upsert"
# A batch's rows are held in memory; each row looks its product up by the (vendor, sku) index,
# whatever the statistics of a table just filled say; compiling the expressions (JIT) costs more
# than it saves. A batch is idempotent and an interrupted job is run again: its commit need not
# wait for the WAL flush.
BATCH_SETTINGS = (
    "SET work_mem TO '64MB'; SET jit TO off; SET enable_hashjoin TO off; SET enable_mergejoin TO off; "
    "SET enable_material TO off; SET enable_seqscan TO off; SET plan_cache_mode TO force_generic_plan; "
    "SET synchronous_commit TO off"
)
# Run a batch: its first and last record.
EXECUTE_BATCH = f"EXECUTE {BATCH_STATEMENT} (%s, %s)"
EXECUTE_UPSERT = f"EXECUTE {UPSERT_STATEMENT} (%s, %s)"
IS_PREPARED = "SELECT name FROM pg_prepared_statements WHERE name IN (%s, %s)"


@dataclass
class StagedBatch:
    """What a batch did: the records SQL converted (of which created and updated), and the rest
    for Python to read: (record number, cells), blank records left out."""

    done: int
    created: int
    updated: int
    rest: list[tuple[int, list[str]]]
    skipped: int = 0  # records the preset skips (parent rows)


def prepare_batch_sql(batch: str, name: str = BATCH_STATEMENT) -> str:
    """The batch statement is planned once: batches differ only in their range of records ($1, $2)."""
    return f"PREPARE {name} (bigint, bigint) AS {batch}"


def deallocate(cursor) -> None:
    """Forget the batch statements, if this connection prepared them."""
    cursor.execute(IS_PREPARED, [BATCH_STATEMENT, UPSERT_STATEMENT])
    for (name,) in cursor.fetchall():
        cursor.execute(f"DEALLOCATE {name}")


def prepare_batches(statements: StagedStatements, *, shared: SharedWork, params: dict) -> None:
    """Index the noted records and prepare the batch statement on both connections (and, for a
    batch that inserts only, the upsert that writes it when it meets a product, on this one)."""
    with transaction.atomic(), connection.cursor() as cursor:
        batch = cursor.mogrify(statements.batch(conflicts=False), params)
        cursor.execute(f"CREATE INDEX ON {statements.tables.special} (rec)")
        deallocate(cursor)
        cursor.execute(prepare_batch_sql(batch))
        if statements.inserts_only():
            cursor.execute(prepare_batch_sql(cursor.mogrify(statements.batch(), params), UPSERT_STATEMENT))
    shared.submit(BATCH_SETTINGS)
    shared.submit(prepare_batch_sql(batch))


def _met_a_product(exc: IntegrityError) -> bool:
    """Whether an insert failed on a product of the same sku (vendor, sku unique)."""
    return isinstance(exc.__cause__, psycopg.errors.UniqueViolation)


def staged_batches(
    statements: StagedStatements, *, shared: SharedWork, params: dict, records: int, size: int, seen_view: bool
) -> Iterator[StagedBatch]:
    """Write the records, ``size`` at a time, in order; yield what each batch did.

    Each batch runs in the caller's transaction (taking the next batch writes it; with a second
    connection, taking one may write one of the next LEAD batches too, whose outcome is yielded in
    its turn). Outside a transaction the batches are shared with the second connection, each written by whichever
    connection is free (SharedWork.alternate); the records for Python are handed back in order
    all the same.
    """
    ranges = [[lo, min(lo + size - 1, records)] for lo in range(1, records + 1, size)]

    inserts_only = statements.inserts_only()

    def here(item: list) -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(local(BATCH_SETTINGS))
            if not inserts_only:
                cursor.execute(EXECUTE_BATCH, item)
                return cursor.fetchone()
            try:
                with transaction.atomic():  # a savepoint: the failed insert leaves nothing behind
                    cursor.execute(EXECUTE_BATCH, item)
                    return cursor.fetchone()
            except IntegrityError as exc:
                if not _met_a_product(exc):
                    raise
            # A product of one of the batch's skus appeared since the import began: upsert.
            cursor.execute(EXECUTE_UPSERT, item)
            return cursor.fetchone()

    python_rows, seen_skus, skipped = statements.python_rows(), statements.seen_skus(), statements.skipped()
    skips = statements.record.skip != "FALSE"
    written = shared.alternate(EXECUTE_BATCH, ranges, here)
    for (lo, hi), (created, updated) in zip(ranges, written, strict=True):
        where = {**params, "lo": lo, "hi": hi}
        with connection.cursor() as cursor:
            cursor.execute(python_rows, where)
            special = cursor.fetchall()
            if not seen_view:
                cursor.execute(seen_skus, where)
            skip = 0
            if skips:
                cursor.execute(skipped, where)
                skip = cursor.fetchone()[0]
        yield StagedBatch(
            done=(hi - lo + 1) - len(special) - skip, created=created, updated=updated,
            rest=[(rec, cells) for rec, nonempty, cells in special if nonempty], skipped=skip,
        )
