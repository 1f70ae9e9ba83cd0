"""The SQL of the staged import, built from the file's header and what the scan found: one statement a method."""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field

from wizamart.marketplace.feed import (
    AVAILABILITY_SPELLINGS,
    CONDITION_SPELLINGS,
    FEED_COLUMNS,
    FeedValueError,
    parse_availability,
    parse_condition,
)

from ..presets import ParentFill
from ..reading import CELL_LIMIT, MAX_LENGTH, PRODUCT_FIELDS, FeedFormat
from ..upsert import STAGE_COLUMNS, column_default, compared, upsert_statement
from ..writers import SEEN_TABLE
from .groups import GROUP, fill_sql, group_join, group_scan
from .tables import StagingTables

# The common "19.99 EUR" the Python parser reads inline (SIMPLE_PRICE_RE, anchored for PostgreSQL),
# or "19.99" in the vendor's default currency (as parse_price reads it).
SIMPLE_PRICE = "^[0-9]{1,10}(?:\\.[0-9]{1,2})?(?: [A-Z]{3})?$"
SIMPLE_QUANTITY = "^[0-9]{1,9}$"  # what the parser reads with int(): ASCII digits, fewer than 10
# Values SQL converts itself; any other value is text, written as it is.
CONVERTED = ("price", "sale_price", "quantity", "availability", "condition")


@functools.cache
def python_whitespace() -> str:
    """Every character str.strip() removes, for PostgreSQL's btrim()."""
    return "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


@functools.cache
def whitespace_but_space() -> str:
    """A regular expression matching any character str.strip() removes but the space."""
    return "[" + "".join(f"\\u{ord(ch):04x}" for ch in python_whitespace() if ch != " ") + "]"


@functools.cache
def known_spellings(column: str) -> dict[str, str]:
    """The usual spellings of each availability or condition ('in stock', 'In_Stock', 'NEW' ...)
    with what the Python parser reads them as, the likeliest first; others go to Python."""
    parse = parse_availability if column == "availability" else parse_condition
    keys = [""] + list(AVAILABILITY_SPELLINGS if column == "availability" else CONDITION_SPELLINGS)
    spellings: dict[str, str] = {}
    for case in (str.lower, str.capitalize, str.title, str.upper):
        for joiner in (" ", "_", "", "-"):
            for key in keys:
                spelling = case(joiner.join(key.split("_")))
                try:
                    spellings.setdefault(spelling, parse(spelling))
                except FeedValueError:
                    continue
    return spellings


@dataclass
class RecordSql:
    """How SQL reads a staged record (alias ``s``): each value's text, and when it converts the record.

    ``values`` maps each Product field the file carries to the SQL of its text (trimmed as
    str.strip() would, when the scan says a value may need it); ``selected`` are those values as
    SQL converts them (availability and condition spellings mapped to their value); ``checks`` the
    conditions under which SQL converts a record exactly as Python would: any other record goes to
    Python, which accepts or rejects it with its reason.
    """

    fmt: FeedFormat
    strip: bool
    apostrophe: bool
    values: dict[str, str] = field(default_factory=dict)
    selected: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    skip: str = "FALSE"  # whether the preset skips the record (SQL over its cells)
    group_cells: list[str] = field(default_factory=list)  # a record's group values (SQL), after its cells

    def __post_init__(self):
        cell = "btrim(s.{}, %(ws)s)" if self.strip else "s.{}"
        base = self.fmt.grouped_width
        raw_checks: list[str] = []  # conditions on the record's cells (the others are on its values)

        def cell_sql(index: int) -> str:
            width = len(self.fmt.header)
            if index < width:
                return cell.format(f"c{index}")
            if isinstance(self.fmt.group, ParentFill):
                # A parent's value: a column added after the file's, stored trimmed (parents.py).
                return f"s.c{index}"
            # A group's value (after the file's cells): read from the record's group (groups.py).
            source = self.fmt.group.fills[index - width][0]
            return fill_sql(self.fmt, index - width, cell.format(f"c{source}"))

        self.group_cells = [cell_sql(index) for index in range(len(self.fmt.header), base)]

        for column, name in FEED_COLUMNS.items():
            index = self.fmt.columns.get(column)
            if index is None:
                continue
            if index < base:
                self.values[name] = cell_sql(index)
            else:
                expr = self.fmt.derived[index - base]
                self.values[name] = f"({expr.sql(cell_sql)})"
                raw_checks += expr.checks(cell_sql)
        if self.fmt.skip_at is not None:
            # A row the preset skips (a parent row) is counted, not written.
            skip = self.fmt.derived[self.fmt.skip_at - base]
            self.skip = " AND ".join([f"({skip.sql(cell_sql)}) = '1'", *skip.checks(cell_sql)])
        self.params.update(
            ws=python_whitespace(), price_re=SIMPLE_PRICE, quantity_re=SIMPLE_QUANTITY, currency=self.fmt.currency,
            ws_not_space=whitespace_but_space(),
        )
        self.checks += ["sku <> ''", "title <> ''", "price ~ %(price_re)s"]
        for name, expression in self.values.items():
            self.selected.append(f"{self._spelled(name, expression)} AS {name}")
        if raw_checks:
            unique = list(dict.fromkeys(raw_checks))  # a list cell read twice (first and rest) is checked once
            self.selected.append(f"({' AND '.join(unique)}) AS derivable")
            self.checks.append("derivable")
        if "sale_price" in self.values:
            self.checks.append("(sale_price = '' OR sale_price ~ %(price_re)s)")
        if "quantity" in self.values:
            self.checks.append("(quantity = '' OR quantity ~ %(quantity_re)s)")
        for name in self.values:
            if self.apostrophe and name not in CONVERTED:
                # A value starting with an apostrophe may be an exported formula cell to restore.
                self.checks.append(f"left({name}, 1) <> ''''")
            limit = MAX_LENGTH.get(name)
            if limit:
                # The byte length bounds the character length and costs nothing.
                self.checks.append(f"(octet_length({name}) <= {limit} OR char_length({name}) <= {limit})")

    def _spelled(self, name: str, expression: str) -> str:
        """An availability or condition as its value (NULL for a spelling left to Python); others as they are."""
        if name not in ("availability", "condition"):
            return expression
        spellings = known_spellings(name)
        whens = " ".join(f"WHEN %({name}_k{i})s THEN %({name}_v{i})s" for i in range(len(spellings)))
        for i, (spelling, value) in enumerate(spellings.items()):
            self.params[f"{name}_k{i}"], self.params[f"{name}_v{i}"] = spelling, value
        self.checks.append(f"{name} IS NOT NULL")
        return f"CASE {expression} {whens} END"

    def converted(self, alias: str) -> dict[str, str]:
        """The Product fields from the selected (and checked) values under ``alias``."""
        found = {name: f"{alias}.{name}" for name in self.values}
        found["price"] = f"split_part({alias}.price, ' ', 1)::numeric"
        found["currency"] = f"COALESCE(NULLIF(split_part({alias}.price, ' ', 2), ''), %(currency)s)"
        if "sale_price" in self.values:
            found["sale_price"] = f"NULLIF(split_part({alias}.sale_price, ' ', 1), '')::numeric"
        if "quantity" in self.values:
            found["quantity"] = f"NULLIF({alias}.quantity, '')::integer"
        return found

    def changed(self) -> list[str]:
        """The Product fields the file writes besides the sku, in PRODUCT_FIELDS order."""
        return [name for name in PRODUCT_FIELDS if name in self.converted("r") and name != "sku"]

    def sku_key(self, sku: str) -> str:
        """The sku as repeated skus are counted: an exported formula cell comes back without its
        apostrophe, so "'=x" and "=x" are one sku."""
        return f"ltrim({sku}, '''')" if self.apostrophe else sku


@dataclass
class StagedStatements:
    """The statements of one staged file, its tables and its vendor."""

    tables: StagingTables
    record: RecordSql
    cells: list[str]
    product_table: str
    compare: bool  # the vendor has products: records are compared with them (else all are new)
    dry_run: bool

    def _reads_group(self, *read: str) -> bool:
        """Whether one of the SQL texts ``read`` reads a record's group values."""
        group = self.record.fmt.group
        return group is not None and not isinstance(group, ParentFill) and any(f"{GROUP}." in text for text in read)

    def _group(self, *read: str) -> str:
        """The join to each record's group (alias ``s``), when one of the SQL texts ``read`` reads it."""
        return " " + group_join(self.tables) if self._reads_group(*read) else ""

    def repeated_skus(self) -> str:
        """The skus the file repeats, with their count: SQL writes none of their records.

        Blank records count for the empty sku: a record without sku goes to Python all the same
        (and is rejected there), and the empty sku is never reported.
        """
        key = self.record.sku_key(self.record.values["sku"])
        return f"""CREATE UNLOGGED TABLE {self.tables.dup} AS SELECT key AS sku, COUNT(*) AS n
            FROM (SELECT {key} AS key FROM {self.tables.raw} s{self._group(key)}) x
            GROUP BY key HAVING COUNT(*) > 1"""

    def repeated_skus_read_fills(self) -> bool:
        """Whether counting the repeated skus reads values a preset fills in after the COPY (a
        group's, or a parent's columns after the file's): else it may run while they are filled."""
        key = self.record.values["sku"]
        if self._reads_group(key):
            return True
        width = len(self.record.fmt.header)
        return any(int(index) >= width for index in re.findall(r"\bs\.c(\d+)\b", key))

    def _records(self, lo: str, hi: str) -> str:
        """Per record from ``lo`` to ``hi``: where it is (tid), whether it has a value, holds one
        too long for Python's csv, is one the preset skips, its sku key, whether Python reads it,
        and its values as SQL converts them.

        Python reads blank records (skipped there), records with a value SQL does not convert
        exactly as Python would (or too long), and every occurrence of a repeated sku. A skipped
        record is one Python would skip: not blank, no value too long (it rejects those first).
        The values are computed once (OFFSET 0 keeps the planner from copying each expression
        into every check that reads it).
        """
        record = self.record
        field_limit = min(CELL_LIMIT, csv.field_size_limit())
        nonempty = " OR ".join(f"s.{c} <> ''" for c in self.cells)
        longer = " OR ".join(f"octet_length(s.{c}) > {field_limit}" for c in self.cells)
        key = record.sku_key("v.sku")
        if self._reads_group(record.skip, *record.selected):
            scan, tid = group_scan(self.tables, lo, hi), "s.tid"
        else:
            scan, tid = f"{self.tables.raw} s WHERE s.rec BETWEEN {lo} AND {hi}", "s.ctid"
        return f"""SELECT v.*, {key} AS key, (v.nonempty AND NOT v.long AND v.skipped) AS skip,
                    (NOT v.nonempty OR v.long OR NOT ({" AND ".join(record.checks)})
                     OR {key} IN (SELECT sku FROM {self.tables.dup})) AS python
                FROM (
                    SELECT s.rec, {tid} AS tid, ({nonempty}) AS nonempty, ({longer}) AS long,
                        COALESCE({record.skip}, FALSE) AS skipped, {", ".join(record.selected)}
                    FROM {scan} OFFSET 0
                ) v"""

    def check(self) -> str:
        """Note the records of a range (%(lo)s to %(hi)s) that SQL does not convert, and those to write.

        For a vendor with products only (a first import notes them as its batches write: see
        batch()). Noted: the records Python reads (see _records), those the preset skips, and the
        ones to write: each record is compared with its product, so an unchanged feed writes
        nothing and its batches have nothing to do. Should products change meanwhile, the
        upsert's ON CONFLICT ... WHERE still decides what is written.
        """
        new, joined, kept = self._comparison()
        return f"""INSERT INTO {self.tables.special} (rec, tid, nonempty, long, key, python, new, skip)
            SELECT w.rec, w.tid, w.nonempty, w.long, w.key, w.python AND NOT w.skip, {new}, w.skip
            FROM ({self._records("%(lo)s", "%(hi)s")}) w {joined}
            WHERE {kept}"""

    def _comparison(self) -> tuple[str, str, str]:
        """For the check: whether a record's product is new, the join to it, and which records to note."""
        changed = self.record.changed()
        staged = ", ".join(self.record.converted("w")[name] for name in changed) + ", TRUE"
        # Each record looks its product up by the (vendor, sku) index, whatever the statistics
        # of a table just filled say (LIMIT keeps the lookup apart from the planner's joins).
        joined = (
            f"LEFT JOIN LATERAL (SELECT * FROM {self.product_table} p WHERE p.vendor_id = %(vendor)s "
            f"AND p.sku = w.sku LIMIT 1) cur ON TRUE"
        )
        kept = f"CASE WHEN w.python OR w.skip THEN TRUE ELSE cur.id IS NULL OR ({compared('cur', changed)}) IS DISTINCT FROM ({staged}) END"
        return "cur.id IS NULL", joined, kept

    def _first_rows(self) -> str:
        """A first import's batch ($1 to $2), before its write: each record read and checked once
        (see _records); the ones SQL does not write are noted as the check notes them, the
        others are the rows ``r``. Nothing is stored yet, so there is nothing to compare."""
        special = self.tables.special
        return f"""v AS ({self._records("$1", "$2")}),
            noted AS (
                INSERT INTO {special} (rec, tid, nonempty, long, key, python, new, skip)
                SELECT v.rec, v.tid, v.nonempty, v.long, v.key, v.python AND NOT v.skip, NULL::boolean, v.skip
                FROM v WHERE v.python OR v.skip
            ),
            r AS (SELECT * FROM v WHERE NOT v.python AND NOT v.skip)"""

    def batch_rows(self) -> str:
        """The converted values of the records of a batch ($1 to $2) that the check noted to write."""
        selected, raw, special = ", ".join(self.record.selected), self.tables.raw, self.tables.special
        return f"""SELECT {selected} FROM {special} x JOIN {raw} s ON s.ctid = x.tid{self._group(selected)}
                   WHERE x.rec BETWEEN $1 AND $2 AND NOT x.python AND NOT x.skip"""

    def inserts_only(self) -> bool:
        """Whether a batch may first try to insert its rows without an upsert (see batch()): a first
        import that writes."""
        return not self.compare and not self.dry_run

    def batch(self, *, conflicts: bool = True) -> str:
        """Write a batch ($1 to $2) and answer (created, updated); a dry run only counts them.

        Without ``conflicts`` (a first import: the vendor had no products when the import began,
        and an sku SQL writes occurs once in the file) the rows are inserted only; should a
        product of one of their skus have appeared meanwhile (another import of the vendor), the
        statement fails and the batch is written by the upsert instead."""
        if self.dry_run and self.compare:  # the check noted which products are new
            return f"""SELECT COUNT(*) FILTER (WHERE x.new), COUNT(*) FILTER (WHERE NOT x.new)
                FROM {self.tables.special} x WHERE x.rec BETWEEN $1 AND $2 AND NOT x.python AND NOT x.skip"""
        if self.dry_run:  # nothing stored yet: every record SQL converts would be created
            return f"WITH {self._first_rows()} SELECT COUNT(*), 0 FROM r"
        values = self.record.converted("r")
        return upsert_statement(
            table=self.product_table,
            source="r",
            values=", ".join(values.get(name, column_default(name)) for name in STAGE_COLUMNS),
            changed=self.record.changed(),
            before=self._first_rows() if not self.compare else f"r AS ({self.batch_rows()})",
            conflicts=conflicts or not self.inserts_only(),
        )

    def python_rows(self) -> str:
        """The records of a range (%(lo)s to %(hi)s) that Python reads, with their cells (and their
        group's values after them), in order."""
        cells = ", ".join([*(f"s.{c}" for c in self.cells), *self.record.group_cells])
        return (
            f"SELECT x.rec, x.nonempty, ARRAY[{cells}] FROM {self.tables.special} x JOIN {self.tables.raw} s "
            f"ON s.ctid = x.tid{self._group(cells)} WHERE x.rec BETWEEN %(lo)s AND %(hi)s AND x.python ORDER BY x.rec"
        )

    def seen_skus(self) -> str:
        """Remember the skus of the records a batch wrote (%(lo)s to %(hi)s): needed when they are not
        the staged column as it is (Python records those of its rows)."""
        python = (
            f"SELECT x.rec FROM {self.tables.special} x WHERE x.rec BETWEEN %(lo)s AND %(hi)s AND (x.python OR x.skip)"
        )
        sku = self.record.values["sku"]
        return (
            f"INSERT INTO {SEEN_TABLE} (sku) SELECT {sku} FROM {self.tables.raw} s{self._group(sku)} "
            f"WHERE s.rec BETWEEN %(lo)s AND %(hi)s AND s.rec NOT IN ({python})"
        )

    def skipped(self) -> str:
        """How many records of a range (%(lo)s to %(hi)s) the preset skips."""
        return f"SELECT COUNT(*) FROM {self.tables.special} x WHERE x.rec BETWEEN %(lo)s AND %(hi)s AND x.skip"

    def seen_view(self) -> str:
        """The feed's skus when every sku as written is the sku read: the staged column itself."""
        sku = f"c{self.record.fmt.columns['id']}"
        return f"CREATE TEMPORARY VIEW {SEEN_TABLE} AS SELECT {sku} AS sku FROM {self.tables.raw} WHERE {sku} <> ''"

    def long_values(self, limit: int) -> str:
        """Whether a record noted as long holds a value of more than ``limit`` characters."""
        longer = " OR ".join(f"char_length(s.{c}) > {limit}" for c in self.cells)
        return (
            f"SELECT EXISTS (SELECT 1 FROM {self.tables.special} x JOIN {self.tables.raw} s ON s.ctid = x.tid "
            f"WHERE x.long AND ({longer}))"
        )

    def long_values_in_file(self, limit: int) -> str:
        """Whether any record holds a value of more than ``limit`` characters, before any is noted
        (a first import): only values of more bytes than the check's limit are counted."""
        field_limit = min(CELL_LIMIT, csv.field_size_limit())
        bytes_over = " OR ".join(f"octet_length(s.{c}) > {field_limit}" for c in self.cells)
        longer = " OR ".join(f"char_length(s.{c}) > {limit}" for c in self.cells)
        return (
            f"SELECT EXISTS (SELECT 1 FROM {self.tables.raw} s "
            f"WHERE CASE WHEN {bytes_over} THEN {longer} ELSE FALSE END)"
        )
