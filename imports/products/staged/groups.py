"""After the COPY, for a preset whose rows are grouped (Shopify's by Handle): each record's group values."""
from __future__ import annotations

from django.db import connection, transaction

from ..reading import FeedFormat
from .statements import python_whitespace
from .tables import StagingTables


def fill_groups_sql(tables: StagingTables, fmt: FeedFormat) -> list[str]:
    """Rebuild the raw table with the group's columns after the file's, filled as
    reading.grouped_records() does: consecutive non-blank records with the same (trimmed) key are a
    group; per fill, the record's own value or the group's first ("first"), or the group's values
    comma separated ("all"). A new table costs less than updating every record in place."""
    group, width = fmt.group, len(fmt.header)
    nonempty = " OR ".join(f"c{i} <> ''" for i in range(width))
    key = f"btrim(c{group.key}, %(ws)s)"
    window = "OVER (PARTITION BY grp ORDER BY rec ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    picked, columns = [], []
    for n, (index, mode) in enumerate(group.fills):
        value = f"btrim(c{index}, %(ws)s)"
        if mode == "all":
            picked.append(f"COALESCE(string_agg({value}, ',') FILTER (WHERE {value} <> '') {window}, '') AS c{width + n}")
        else:
            first = f"COALESCE((array_agg({value}) FILTER (WHERE {value} <> '') {window})[1], '')"
            picked.append(f"CASE WHEN {value} <> '' THEN {value} ELSE {first} END AS c{width + n}")
        columns.append(f"COALESCE(g.c{width + n}, '') AS c{width + n}")
    table, grouped = tables.raw, tables.grouped
    return [
        f"DROP TABLE IF EXISTS {grouped}",
        f"""CREATE UNLOGGED TABLE {grouped} AS SELECT t.*, {", ".join(columns)} FROM {table} t LEFT JOIN (
            SELECT rec, {", ".join(picked)} FROM (
                SELECT *, SUM(starts) OVER (ORDER BY rec) AS grp FROM (
                    SELECT *, CASE WHEN {key} IS DISTINCT FROM lag({key}) OVER (ORDER BY rec) THEN 1 ELSE 0 END AS starts
                    FROM {table} WHERE {nonempty}
                ) k
            ) r
        ) g ON g.rec = t.rec""",
        f"DROP TABLE {table}",
        f"ALTER TABLE {grouped} RENAME TO {table}",
    ]


def fill_groups(tables: StagingTables, fmt: FeedFormat) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in fill_groups_sql(tables, fmt):
            cursor.execute(statement, {"ws": python_whitespace()})
