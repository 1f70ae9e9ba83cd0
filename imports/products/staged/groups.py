"""After the COPY, for a preset whose rows are grouped (Shopify's by Handle): each record's group values."""
from __future__ import annotations

from django.db import connection, transaction

from ..reading import FeedFormat
from .statements import python_whitespace


def fill_groups_sql(table: str, fmt: FeedFormat) -> str:
    """Add the group's columns after the file's and fill them as reading.grouped_records() does:
    consecutive non-blank records with the same (trimmed) key are a group; per fill, the record's
    own value or the group's first ("first"), or the group's values comma separated ("all")."""
    group, width = fmt.group, len(fmt.header)
    trimmed = {index: f"btrim(c{index}, %(ws)s)" for index, _ in group.fills}
    nonempty = " OR ".join(f"c{i} <> ''" for i in range(width))
    key = f"btrim(c{group.key}, %(ws)s)"
    added = ", ".join(f"ADD COLUMN c{width + n} text" for n in range(len(group.fills)))
    window = "OVER (PARTITION BY grp ORDER BY rec ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    picked, sets = [], []
    for n, (index, mode) in enumerate(group.fills):
        value = trimmed[index]
        if mode == "all":
            picked.append(f"COALESCE(string_agg({value}, ',') FILTER (WHERE {value} <> '') {window}, '') AS g{n}")
        else:
            first = f"COALESCE((array_agg({value}) FILTER (WHERE {value} <> '') {window})[1], '')"
            picked.append(f"CASE WHEN {value} <> '' THEN {value} ELSE {first} END AS g{n}")
        sets.append(f"c{width + n} = g.g{n}")
    return f"""ALTER TABLE {table} {added};
        UPDATE {table} t SET {", ".join(sets)} FROM (
            SELECT rec, {", ".join(picked)} FROM (
                SELECT *, SUM(starts) OVER (ORDER BY rec) AS grp FROM (
                    SELECT *, CASE WHEN {key} IS DISTINCT FROM lag({key}) OVER (ORDER BY rec) THEN 1 ELSE 0 END AS starts
                    FROM {table} WHERE {nonempty}
                ) k
            ) r
        ) g WHERE t.rec = g.rec"""


def fill_groups(table: str, fmt: FeedFormat) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(fill_groups_sql(table, fmt), {"ws": python_whitespace()})
