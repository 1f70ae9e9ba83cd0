"""After the COPY, for a preset whose rows are grouped (Shopify's by Handle): each record's group values."""
from __future__ import annotations

from django.db import connection, transaction

from ..reading import FeedFormat
from .statements import python_whitespace
from .tables import StagingTables


def fill_groups_sql(tables: StagingTables, fmt: FeedFormat, *, strip: bool = True) -> list[str]:
    """Rebuild the raw table with the group's columns after the file's, filled as
    reading.grouped_records() does: consecutive non-blank records with the same (trimmed) key are a
    group; per fill, the record's own value or the group's first ("first"), the group's first
    ("head"), its others ("tail") or all its values ("all"), comma separated. A new table costs
    less than updating every record in place. ``strip``: whether a value may need trimming."""
    group, width = fmt.group, len(fmt.header)
    trim = "btrim(c{}, %(ws)s)" if strip else "c{}"
    nonempty = " OR ".join(f"c{i} <> ''" for i in range(width))
    sources = sorted({index for index, _ in group.fills})
    values = ", ".join(f"{trim.format(i)} AS v{i}" for i in sources)
    aggregates = ", ".join(f"array_agg(v{i} ORDER BY rec) FILTER (WHERE v{i} <> '') AS a{i}" for i in sources)
    columns = []
    for n, (index, mode) in enumerate(group.fills):
        found = {
            "all": f"array_to_string(g.a{index}, ',')",
            "tail": f"array_to_string(g.a{index}[2:], ',')",
            "head": f"g.a{index}[1]",
            "first": f"CASE WHEN k.v{index} <> '' THEN k.v{index} ELSE g.a{index}[1] END",
        }[mode]
        columns.append(f"COALESCE({found}, '') AS c{width + n}")
    table, grouped = tables.raw, tables.grouped
    key = trim.format(group.key)
    return [
        f"DROP TABLE IF EXISTS {grouped}",
        f"""CREATE UNLOGGED TABLE {grouped} AS
            WITH k AS (
                SELECT rec, {values}, SUM(starts) OVER (ORDER BY rec) AS grp FROM (
                    SELECT *, CASE WHEN {key} IS DISTINCT FROM lag({key}) OVER (ORDER BY rec) THEN 1 ELSE 0 END AS starts
                    FROM {table} WHERE {nonempty}
                ) r
            ), g AS (SELECT grp, {aggregates} FROM k GROUP BY grp)
            SELECT t.*, {", ".join(columns)} FROM {table} t LEFT JOIN k ON k.rec = t.rec LEFT JOIN g ON g.grp = k.grp""",
        f"DROP TABLE {table}",
        f"ALTER TABLE {grouped} RENAME TO {table}",
    ]


# The groups are sorted and aggregated in memory; the second connection may be checking meanwhile.
GROUP_SETTINGS = "SET LOCAL work_mem TO '256MB'; SET LOCAL max_parallel_workers_per_gather TO 0; SET LOCAL jit TO off"


def fill_groups(tables: StagingTables, fmt: FeedFormat, *, strip: bool = True) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(GROUP_SETTINGS)
        for statement in fill_groups_sql(tables, fmt, strip=strip):
            cursor.execute(statement, {"ws": python_whitespace()})
