"""The staging tables of a job: the raw feed, its records for Python, its repeated skus; made and dropped."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from django.db import DatabaseError, ProgrammingError, connection, transaction

from background_tasks.status import TaskStatus

from .scan import NotStageable

TABLE_PREFIX = "imports_feed"  # the staging tables: imports_feed_<job>, with _special and _dup

# The staging tables left in the database: unlogged tables named after a job.
FIND_STAGING_TABLES = "SELECT relname FROM pg_class WHERE relkind = 'r' AND relpersistence = 'u' AND relname ~ %s"
# Another job's tables may be in use (a job still at work though no longer marked running):
# wait a moment for its lock, not for as long as it runs.
DROP_LOCK_TIMEOUT = "SET LOCAL lock_timeout TO '1s'"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagingTables:
    """The names of a job's staging tables.

    They are unlogged (nothing to recover after a crash: the job is run again) and named after the
    job, so that a second connection can share the work and a later job can drop them if this one
    ended without it.
    """

    raw: str  # the file: its record number and one text column per header cell
    special: str  # the records SQL does not write itself (blank, for Python, repeated), and the ones to write
    dup: str  # the skus repeated in the file, with their count
    groups: str  # for a preset that groups rows: one row per group, its values (see groups.py)

    @classmethod
    def named(cls, name: str) -> StagingTables:
        return cls(raw=name, special=f"{name}_special", dup=f"{name}_dup", groups=f"{name}_groups")

    def __str__(self) -> str:
        return f"{self.raw}, {self.special}, {self.dup}, {self.groups}"


def create_raw_table_sql(tables: StagingTables, cells: Sequence[str]) -> str:
    """The raw table: ``rec`` numbers the records in file order (COPY inserts them in order)."""
    columns = ", ".join(f"{cell} text" for cell in cells)
    return f"CREATE UNLOGGED TABLE {tables.raw} (rec bigint GENERATED ALWAYS AS IDENTITY, {columns})"


def create_special_table_sql(tables: StagingTables) -> str:
    """The table the check fills: per record noted, where it is (tid), whether it has a value, may be
    too long for Python's csv, its sku key, whether Python reads it, whether its product is new, whether
    the preset skips it."""
    return (
        f"CREATE UNLOGGED TABLE {tables.special} "
        f"(rec bigint, tid tid, nonempty boolean, long boolean, key text, python boolean, new boolean, skip boolean)"
    )


def create_raw_table(tables: StagingTables, cells: Sequence[str]) -> None:
    """Make the raw table (dropping any of the same name); raise NotStageable if the user may not."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {tables}")
            cursor.execute(create_raw_table_sql(tables, cells))
    except ProgrammingError as exc:
        # A database user that may not create tables in its schema (PostgreSQL 15 and later
        # grant that to the database's owner only): the file is read in Python.
        if isinstance(exc.__cause__, psycopg.errors.InsufficientPrivilege):
            raise NotStageable("the database user may not create the staging table") from None
        raise


def drop_tables(tables: StagingTables) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {tables}")


def drop_leftovers() -> None:
    """Drop the staging tables of jobs that are no longer running (their process ended without it)."""
    from ..models import MarketplaceImportJob

    with connection.cursor() as cursor:
        cursor.execute(FIND_STAGING_TABLES, [f"^{TABLE_PREFIX}_[0-9]+$"])
        names = {int(name.rsplit("_", 1)[1]): name for (name,) in cursor.fetchall()}
        running = set(
            MarketplaceImportJob.objects.filter(pk__in=names, status=TaskStatus.RUNNING).values_list("pk", flat=True)
        )
        for pk, name in names.items():
            if pk in running:
                continue
            try:
                with transaction.atomic():
                    cursor.execute(DROP_LOCK_TIMEOUT)
                    cursor.execute(f"DROP TABLE IF EXISTS {StagingTables.named(name)}")
            except DatabaseError as exc:
                logger.warning("The staging tables %s* were not dropped: %s", name, exc)
