"""After the COPY, for a preset whose rows are grouped (Shopify's by Handle): the groups' values, and each record's.

The groups go to a narrow table of their own, one row per group: the range of records it
covers (``lo`` to ``hi``) and, per fill, the group's value. The raw table stays as the COPY
made it. A statement over a range of records reads the groups that cover it and, for each,
its records by their index (``group_scan``); one that reads a few records looks each one's
group up (``group_join``). Rebuilding the raw table with every record's group values (the
file's width again, each variant row carrying its product's description) cost more than
reading them from the groups.
"""
from __future__ import annotations

from django.db import connection, transaction

from ..reading import FeedFormat
from .tables import StagingTables

GROUP = "grp"  # the alias under which the statements read a record's group
LAST_RECORD = 2**63 - 1  # the last group covers every record after its start


def fill_sql(fmt: FeedFormat, n: int, cell: str) -> str:
    """The SQL of a record's value of fill ``n``, as reading.grouped_records() gives it: for
    "first", the record's own value when it has one (``cell``: its SQL, trimmed), else the
    group's; for the other modes the group's."""
    group_value = f"{GROUP}.f{n}"
    if fmt.group.fills[n][1] == "first":
        return f"CASE WHEN {cell} <> '' THEN {cell} ELSE {group_value} END"
    return group_value


def group_join(tables: StagingTables) -> str:
    """The join that gives the record ``s`` its group (``grp``): one index lookup."""
    return (
        f"JOIN LATERAL (SELECT g.* FROM {tables.groups} g WHERE g.lo <= s.rec "
        f"ORDER BY g.lo DESC LIMIT 1) {GROUP} ON TRUE"
    )


def group_scan(tables: StagingTables, lo: str, hi: str) -> str:
    """The records from ``lo`` to ``hi`` as ``s`` (their position as ``s.tid``), each with its group
    (``grp``): the groups that cover the range, in order, and for each its records in the range,
    by their index. A group holds a few records: this reads each group once rather than looking
    it up for each of its records. (The lateral reference keeps the groups outside.)"""
    return (
        f"(SELECT g.* FROM {tables.groups} g WHERE g.lo BETWEEN "
        f"(SELECT max(g0.lo) FROM {tables.groups} g0 WHERE g0.lo <= {lo}) AND {hi}) {GROUP} "
        f"CROSS JOIN LATERAL (SELECT r0.*, r0.ctid AS tid FROM {tables.raw} r0 "
        f"WHERE r0.rec BETWEEN greatest({GROUP}.lo, {lo}) AND least({GROUP}.hi, {hi})) s"
    )


def fill_groups_sql(tables: StagingTables, fmt: FeedFormat, *, strip: bool = True) -> list[str]:
    """Make the groups' table as reading.grouped_records() groups: consecutive non-blank records
    with the same (trimmed) key are a group (a blank record neither starts one nor counts). Per
    fill the group's first value ("first", "head"), its others ("tail") or all its values
    ("all"), comma separated, in file order.

    A group covers its records and the blank ones up to the next group, the first group the blank
    ones before it too, the last every record after its start: every record has one group (a
    file of blank records only, one group of empty values). A blank record is never written,
    so the values it gets do not matter.

    One ordered pass over the records' key and fill cells: each record's group is where the
    last group start at or before it was; each cell's values are gathered per group once (a
    cell two fills read is gathered once), and the fills are made from them on the group's
    first record only. The raw table is in record order, so the sorts find their input sorted.
    ``strip``: whether a value may need trimming."""
    group, width = fmt.group, len(fmt.header)
    trim = "btrim(c{}, %(ws)s)" if strip else "c{}"
    nonempty = " OR ".join(f"c{i} <> ''" for i in range(width))
    sources = sorted({index for index, _ in group.fills})
    cells = ", ".join(f"{trim.format(i)} AS v{i}" for i in sources)
    window = "(PARTITION BY lo ORDER BY rec ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    gathered = ", ".join(f"array_agg(v{i}) FILTER (WHERE v{i} <> '') OVER w AS a{i}" for i in sources)
    columns = []
    for n, (index, mode) in enumerate(group.fills):
        found = {
            "all": f"array_to_string(a{index}, ',')",
            "tail": f"array_to_string(a{index}[2:], ',')",
            "head": f"a{index}[1]",
            "first": f"a{index}[1]",
        }[mode]
        columns.append(f"COALESCE({found}, '') AS f{n}")
    fills = [f"f{n}" for n in range(len(group.fills))]
    return [
        f"DROP TABLE IF EXISTS {tables.groups}",
        f"""CREATE UNLOGGED TABLE {tables.groups} AS SELECT
                CASE WHEN lag(lo) OVER starts IS NULL THEN 1 ELSE lo END AS lo,
                COALESCE(lead(lo) OVER starts - 1, {LAST_RECORD}) AS hi, {", ".join(fills)}
            FROM (
                SELECT lo, {", ".join(columns)} FROM (
                    SELECT rec, lo, {gathered} FROM (
                        SELECT *, MAX(CASE WHEN starts THEN rec END) OVER (ORDER BY rec) AS lo FROM (
                            SELECT *, key IS DISTINCT FROM lag(key) OVER (ORDER BY rec) AS starts
                            FROM (SELECT rec, {trim.format(group.key)} AS key, {cells} FROM {tables.raw} WHERE {nonempty}) a
                        ) b
                    ) c WINDOW w AS {window}
                ) d WHERE rec = lo
            ) e WINDOW starts AS (ORDER BY lo)""",
        f"""INSERT INTO {tables.groups} (lo, hi, {", ".join(fills)})
            SELECT 1, {LAST_RECORD}, {", ".join("''" for _ in fills)} WHERE NOT EXISTS (SELECT FROM {tables.groups})""",
        f"CREATE UNIQUE INDEX ON {tables.groups} (lo)",
    ]


# The records are sorted and the groups aggregated in memory; the second connection may be
# working meanwhile.
GROUP_SETTINGS = "SET LOCAL work_mem TO '256MB'; SET LOCAL max_parallel_workers_per_gather TO 0; SET LOCAL jit TO off"


def fill_groups(tables: StagingTables, fmt: FeedFormat, *, strip: bool, params: dict) -> None:
    """Make the groups' table (``params``: the statements' parameters, for ``%(ws)s``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(GROUP_SETTINGS)
        for statement in fill_groups_sql(tables, fmt, strip=strip):
            cursor.execute(statement, params)
