"""After the COPY, for a preset whose rows are grouped (Shopify's by Handle): each record's group values."""
from __future__ import annotations

from django.db import connection, transaction

from ..reading import FeedFormat
from .statements import python_whitespace
from .tables import StagingTables


def fill_groups_sql(tables: StagingTables, fmt: FeedFormat, *, strip: bool = True) -> list[str]:
    """Rebuild the raw table with the group's columns after the file's, filled as
    reading.grouped_records() does: consecutive non-blank records with the same (trimmed) key are a
    group (a blank record neither starts one nor counts); per fill, the record's own value or the
    group's first ("first"), the group's first ("head"), its others ("tail") or all its values
    ("all"), comma separated. One pass over the records, in file order: a new table costs less
    than updating every record in place. ``strip``: whether a value may need trimming."""
    group, width = fmt.group, len(fmt.header)
    trim = "btrim(c{}, %(ws)s)" if strip else "c{}"
    nonempty = " OR ".join(f"c{i} <> ''" for i in range(width))
    window = "(PARTITION BY grp ORDER BY rec ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    columns = []
    for n, (index, mode) in enumerate(group.fills):
        value = trim.format(index)
        values = f"(array_agg({value}) FILTER (WHERE {value} <> '') OVER w)"
        found = {
            "all": f"array_to_string({values}, ',')",
            "tail": f"array_to_string({values}[2:], ',')",
            "head": f"{values}[1]",
            "first": f"CASE WHEN {value} <> '' THEN {value} ELSE {values}[1] END",
        }[mode]
        columns.append(f"COALESCE({found}, '') AS c{width + n}")
    table, grouped = tables.raw, tables.grouped
    cells = ", ".join(["rec", *(f"c{i}" for i in range(width))])
    return [
        f"DROP TABLE IF EXISTS {grouped}",
        f"""CREATE UNLOGGED TABLE {grouped} AS SELECT {cells}, {", ".join(columns)} FROM (
                SELECT *, SUM(starts) OVER (ORDER BY rec) AS grp FROM (
                    SELECT *, CASE WHEN filled AND key IS DISTINCT FROM lag(key) OVER (PARTITION BY filled ORDER BY rec)
                        THEN 1 ELSE 0 END AS starts
                    FROM (SELECT *, ({nonempty}) AS filled, {trim.format(group.key)} AS key FROM {table}) a
                ) b
            ) c WINDOW w AS {window}""",
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
