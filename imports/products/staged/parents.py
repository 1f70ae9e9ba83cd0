"""After the COPY, for a preset whose rows name their parent row (WooCommerce's variations): each
record's parent values, as reading.parented_records() gives them."""
from __future__ import annotations

from django.db import connection, transaction

from ..derive import kind_in_sql, quote
from ..reading import FeedFormat
from .second import SharedWork
from .statements import python_whitespace
from .tables import StagingTables

# The records naming a parent are set in two halves, one on each connection (%(lo)s to %(hi)s).
HALF = " AND child.rec BETWEEN %(lo)s AND %(hi)s"
# The parents are joined to their records by hashing: the table has no statistics yet, and the
# planner, taking the parents for a few rows, would otherwise scan the records once per parent.
FILL_SETTINGS = "SET LOCAL enable_nestloop TO off; SET LOCAL jit TO off"


def fill_parents_sql(tables: StagingTables, fmt: FeedFormat, *, strip: bool = True) -> list[str]:
    """Add the parent's columns after the file's, empty (no rewrite of the table), then set them
    on the records that name a parent: only those are written again. A parent is the first
    record (in file order) of a parent type going by that name, before the record naming it.
    ``strip``: whether a value may need trimming."""
    group, width, table = fmt.group, len(fmt.header), tables.raw
    trim = "btrim({}.c{}, %(ws)s)" if strip else "{}.c{}"
    extra = [f"c{width + n}" for n in range(len(group.fills))]
    values = ", ".join(f"{trim.format('r', index)} AS v{n}" for n, (index, _) in enumerate(group.fills))
    names = ", ".join(f"{trim.format('r', index)} AS n{n}" for n, (index, _) in enumerate(group.keys))
    pairs = ", ".join(f"(p.n{n} <> '', {quote(prefix)} || p.n{n})" for n, (_, prefix) in enumerate(group.keys))
    kept = ", ".join(f"p.v{n}" for n in range(len(extra)))
    return [
        f"ALTER TABLE {table} " + ", ".join(f"ADD COLUMN {c} text NOT NULL DEFAULT ''" for c in extra),
        f"""UPDATE {table} AS child SET {", ".join(f"{c} = parent.v{n}" for n, c in enumerate(extra))}
            FROM (
                SELECT DISTINCT ON (k.name) k.name, p.rec, {kept}
                FROM (SELECT r.rec, {values}, {names} FROM {table} AS r
                      WHERE {kind_in_sql(trim.format('r', group.kind), group.kinds)}) AS p
                CROSS JOIN LATERAL (VALUES {pairs}) AS k(named, name)
                WHERE k.named
                ORDER BY k.name, p.rec
            ) AS parent
            WHERE parent.name = {trim.format('child', group.parent)} AND parent.rec < child.rec""",
    ]


def add_parent_columns(tables: StagingTables, fmt: FeedFormat) -> None:
    """Add the parent's columns, empty, in a transaction of their own: the ALTER locks the table
    until it commits, and the repeated skus may be counted on the second connection meanwhile."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(fill_parents_sql(tables, fmt)[0])


def fill_parents(
    tables: StagingTables, fmt: FeedFormat, *, records: int, shared: SharedWork | None = None, strip: bool = True
) -> None:
    """Set the parent's values on the records naming one (the columns are added: add_parent_columns).
    With ``shared`` (a second connection with nothing else to answer), the second half of the
    records is set there meanwhile; should it fail, that half is set here."""
    params = {"ws": python_whitespace()}
    update = fill_parents_sql(tables, fmt, strip=strip)[1] + HALF
    middle = records // 2
    if shared is not None:
        shared.submit("BEGIN")
        shared.submit(FILL_SETTINGS)
        shared.submit(update, {**params, "lo": middle + 1, "hi": records}, answer=True)
        shared.submit("COMMIT")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FILL_SETTINGS)
        cursor.execute(update, {**params, "lo": 1, "hi": middle if shared is not None else records})
    if shared is not None and shared.answer() is None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(FILL_SETTINGS)
            cursor.execute(update, {**params, "lo": middle + 1, "hi": records})
