"""Let PostgreSQL read the feed: COPY the raw CSV into a staging table, convert plain rows in SQL.

Python reading and checking every row costs more than PostgreSQL's whole COPY, so on
PostgreSQL the file goes to the server as it is (streamed, in segments that each end on a
record boundary). The rows whose every value is plain — a simple ``19.99 EUR`` price, a
whole-number quantity, known availability and condition spellings, no value too long, no sku
seen twice — are converted and upserted by one statement per batch; every other row comes back
to Python and goes through the same parser as the Python path, which accepts or rejects it
with its reason. Results are those of the Python path by construction: SQL only takes the rows
it converts exactly as Python would.

The server's CSV reading equals Python's only for well-formed files, so a file is staged only
when it is: an encoding PostgreSQL reads (UTF-8, cp1252, latin-1), the header on the first line,
no NUL byte, no quote inside an unquoted value (PostgreSQL would start a quoted part there,
Python keeps the character), no line PostgreSQL takes for its end-of-data marker, and every
record with as many values as the header (COPY refuses a ragged row, a blank line, mixed line
endings). Anything else raises ``NotStageable`` and the import reads the file in Python instead.
"""
from __future__ import annotations

import csv
import functools
import io
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, ProgrammingError, connection, connections, transaction

from background_tasks.status import TaskStatus
from wizamart.marketplace.feed import (
    AVAILABILITY_SPELLINGS,
    CONDITION_SPELLINGS,
    FEED_COLUMNS,
    SIMPLE_PRICE_RE,
    FeedValueError,
    parse_availability,
    parse_condition,
)
from wizamart.marketplace.models import Product

from ..conf import imports_settings
from .reading import _MAX_LENGTH, CHUNK_SIZE, PRODUCT_FIELDS, FeedFormat, Opener, _sample_text
from .upsert import STAGE_COLUMNS, column_default, upsert_statement
from .writers import SEEN_TABLE

TABLE_PREFIX = "imports_feed"  # the staging tables: imports_feed_<job>, with _special and _dup
BATCH_STATEMENT = "imports_staged_batch"
# The count of repeated skus hashes every sku in memory.
REPEATED_SETTINGS = "SET work_mem TO '256MB'; SET jit TO off"
CHECK_RECORDS = 25_000  # records checked per statement
# The check looks each product up by its index (and each range of records by theirs); compiling
# its expressions (JIT) costs more than it saves.
CHECK_SETTINGS = (
    "SET work_mem TO '64MB'; SET jit TO off; SET enable_hashjoin TO off; SET enable_mergejoin TO off; "
    "SET enable_seqscan TO off"
)
# A batch's rows are held in memory; each row looks its product up by the (vendor, sku) index,
# whatever the statistics of a table just filled say; compiling the expressions (JIT) costs more
# than it saves.
BATCH_SETTINGS = (
    "SET work_mem TO '64MB'; SET jit TO off; SET enable_hashjoin TO off; SET enable_mergejoin TO off; "
    "SET enable_material TO off; SET enable_seqscan TO off; SET plan_cache_mode TO force_generic_plan; "
    "SET synchronous_commit TO off"
)
SEGMENT_SIZE = 8 * 1024 * 1024  # bytes per COPY statement: progress is reported between them

PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252", "iso8859-1": "LATIN1", "latin-1": "LATIN1"}
# The common "19.99 EUR" the Python parser reads inline (SIMPLE_PRICE_RE, anchored for PostgreSQL).
SIMPLE_PRICE = "^" + SIMPLE_PRICE_RE.pattern + "$"
SIMPLE_QUANTITY = "^[0-9]{1,9}$"  # what the parser reads with int(): ASCII digits, fewer than 10
# An unquoted line holding only "\." ends COPY's data.
_END_MARKER = re.compile(rb"(?:^|[\r\n])\\\.(?:[\r\n]|$)")

logger = logging.getLogger(__name__)


def _local(settings: str) -> str:
    """The same settings for the current transaction only (the second connection sets them for its session)."""
    return settings.replace("SET ", "SET LOCAL ")


@dataclass
class StagedBatch:
    """What a batch did: the records SQL converted (of which created and updated), and the rest
    for Python to read: (record number, cells), blank records left out."""

    done: int
    created: int
    updated: int
    rest: list[tuple[int, list[str]]]


class NotStageable(Exception):
    """The file is read in Python instead; the message says why."""


@functools.cache
def python_whitespace() -> str:
    """Every character str.strip() removes, for PostgreSQL's btrim()."""
    return "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


def staging_reason(fmt: FeedFormat, opener: Opener) -> str | None:
    """Return why the file cannot be staged as it is detected, or None when it can be tried."""
    if fmt.encoding not in PG_ENCODINGS:
        return f"encoding {fmt.encoding}"
    if fmt.skip_records != 1:
        return "a line before the header"
    text = _sample_text(opener, fmt.encoding).lstrip("\ufeff")
    if text[:1] in ("\r", "\n"):
        return "blank lines before the header"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter)
    if next(reader, None) != fmt.header or reader.line_num != 1:
        return "the header spans lines"
    return None


# Python's whitespace (str.isspace) as UTF-8 bytes, beyond ASCII: NEL, NBSP, U+1680, U+2000-U+200A,
# U+2028, U+2029, U+202F, U+205F, U+3000.
_WS_UTF8 = rb"(?:\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)"
MAX_CARRY = 1024 * 1024  # a value this long is beyond Python's csv field limit anyway


def _byte_classes(delimiter: str, encoding: str, quoted: bool) -> bytes:
    """A bytes.translate() table: S separator, W whitespace, L may start and E may end a longer
    whitespace character, A apostrophe, o anything else. Inside quotes only NUL (the joint of
    the checked pieces) separates, and line breaks are whitespace."""
    table = bytearray(b"o" * 256)
    table[0] = ord("S")
    for byte in b"\t\x0b\x0c\x1c\x1d\x1e\x1f ":
        table[byte] = ord("W")
    for byte in b"\r\n":
        table[byte] = ord("W" if quoted else "S")
    if not quoted:
        table[ord(delimiter)] = ord("S")
    if encoding.startswith("utf"):
        for byte in b"\xc2\xe1\xe2\xe3":
            table[byte] = ord("L")
        for byte in [*range(0x80, 0x8B), 0x9F, 0xA0, 0xA8, 0xA9, 0xAF]:
            table[byte] = ord("E")
    else:  # cp1252 and latin-1: NEL and NBSP are single bytes (0x85 is an ellipsis in cp1252: counted all the same)
        table[0x85] = table[0xA0] = ord("W")
    table[ord("'")] = ord("A")
    return bytes(table)


class FeedScan:
    """Check the raw bytes, chunk by chunk, on their way to PostgreSQL.

    1. PostgreSQL starts a quoted part at any quote outside one; Python's csv only at the start
       of a value. They agree when every quote that opens a quoted part follows a delimiter, a
       line break, the start of the file or the quote that closed the previous part (a doubled
       quote); anything else raises NotStageable.
    2. Whether some value may start or end with whitespace (``strip``) or start with an
       apostrophe (``apostrophe``): when neither can happen the SQL reads the values as they
       are, without the costly trimming. Both err on the safe side: True means "maybe".

    The file is seen as the parts between its quotes (outside a quoted part, then inside, ...);
    the last part of a chunk is carried over to the next, where it is whole. Values outside
    quotes are checked by classifying every byte (``bytes.translate``) and looking for a
    separator next to whitespace; quoted values by their first and last bytes.
    """

    def __init__(self, delimiter: str, encoding: str):
        self.utf8 = encoding.startswith("utf")
        separator = re.escape(delimiter.encode())
        self._outside = (
            _byte_classes(delimiter, encoding, quoted=False),
            re.compile(rb"(?:\A|[\x00\r\n" + separator + rb"])" + _WS_UTF8),
            re.compile(_WS_UTF8 + rb"(?:\Z|[\x00\r\n" + separator + rb"])"),
        )
        self._quoted = (
            _byte_classes(delimiter, encoding, quoted=True),
            re.compile(rb"(?:\A|\x00)" + _WS_UTF8),
            re.compile(_WS_UTF8 + rb"(?:\Z|\x00)"),
        )
        self._separators = (delimiter.encode(), b"\n", b"\r")
        self.allowed = {b"", *self._separators}
        self.strip = False
        self.apostrophe = False
        self.inside = False  # at the end of what was fed
        self._carry = b""
        self._carry_inside = False
        self._carry_starts_value = False  # a carried quoted part: whether it opens a value
        self._at_start = True

    def feed(self, chunk: bytes, final: bool = False) -> None:
        text = self._carry + chunk
        parts = text.split(b'"')
        n = len(parts)
        first_inside = self._carry_inside
        self.inside = last_inside = first_inside ^ bool((n - 1) % 2)
        if final:
            if last_inside:
                raise NotStageable("a quoted value is not closed")
            keep = n
        elif not last_inside and not parts[-1] and n >= 2:
            keep = n - 2  # ends with a quote: closing a value, or the first of a doubled pair
        else:
            keep = n - 1
        out_at = 1 if first_inside else 0
        in_at = 1 - out_at

        # 1. Quotes: the outside parts followed by a quote must end where a value may start.
        opening = parts[out_at : min(keep, n - 1) : 2]
        if opening:
            ends = {part[-1:] for part in opening[1:] if part}  # an empty one follows a closing quote
            ends.add(opening[0][-1:])  # empty only at the start of the file
            if not ends <= self.allowed:
                raise NotStageable("a quote inside an unquoted value")

        # 2. Values with whitespace or an apostrophe at their edges.
        fragment = b""
        if keep == n - 1 and not last_inside:
            cut = max(parts[-1].rfind(s) for s in self._separators)
            if cut >= 0:
                fragment = parts[-1][: cut + 1]  # ends on a separator: its values are whole
        if not (self.strip and self.apostrophe):
            outside = parts[out_at:keep:2]
            if fragment:
                outside.append(fragment)
            self._check_values(b"\x00".join(outside), *self._outside)
            inside = parts[in_at:keep:2]
            # A quoted part opens a value when the outside part before it is not empty (an empty
            # one lies between the quotes of a doubled quote), and closes it likewise.
            before = parts[in_at - 1 : keep : 2] if in_at else [None, *parts[1:keep:2]]
            after = parts[in_at + 1 : keep + 1 : 2]
            starts = [part[:3] for part, prev in zip(inside, before, strict=False) if prev]
            if in_at == 0 and self._carry_starts_value and inside:
                starts.append(inside[0][:3])
            if in_at == 1 and self._at_start and inside and not parts[0]:
                starts.append(inside[0][:3])  # the file starts with a quoted value
            ends_ = [part[-3:] for part, nxt in zip(inside, after, strict=False) if nxt]
            if final and n >= 2 and not parts[-1]:
                ends_.append(parts[-2][-3:])  # the file ends with a quoted value
            # Only the first bytes of a quoted value are its start (and the last its end): a space
            # at the cut of "ab cd"[:3] is inside the value.
            self._check_values(b"\x00" + b"\x00".join(starts) + b"\x00", *self._quoted, ends=False)
            self._check_values(b"\x00" + b"\x00".join(ends_) + b"\x00", *self._quoted, starts=False)

        # 3. What the next chunk continues.
        if final:
            return
        if fragment:
            self._carry, self._carry_inside = parts[-1][len(fragment) - 1 :], False
        else:
            self._carry = b'"'.join(parts[keep:])
            carry_inside = first_inside ^ bool(keep % 2)
            if carry_inside and keep:
                self._carry_starts_value = bool(parts[keep - 1]) or (keep == 1 and self._at_start)
            self._carry_inside = carry_inside
        self._at_start = False
        if len(self._carry) > MAX_CARRY:
            raise NotStageable("a value longer than Python's csv field limit")

    def _check_values(
        self, data: bytes, table: bytes, lead_utf8: re.Pattern, trail_utf8: re.Pattern, starts=True, ends=True
    ) -> None:
        """Note whitespace or an apostrophe at the start (or end) of a value in ``data`` (values between separators)."""
        classes = data.translate(table)
        if not self.strip:
            leading = starts and (classes.startswith((b"W", b"L")) or b"SW" in classes)
            trailing = ends and (classes.endswith((b"W", b"E")) or b"WS" in classes)
            if leading or trailing:
                self.strip = True
            elif self.utf8 and (starts and b"SL" in classes or ends and b"ES" in classes):
                # A multi-byte character next to a separator: whitespace only if it is one.
                self.strip = bool(starts and lead_utf8.search(data) or ends and trail_utf8.search(data))
        if starts and not self.apostrophe and (classes.startswith(b"A") or b"SA" in classes):
            self.apostrophe = True

    def boundary(self, chunk: bytes) -> int:
        """Return the end of the last whole record in ``chunk`` (after ``feed``), or -1 if none ends in it."""
        if self.inside:
            return -1
        tail = chunk.rsplit(b'"', 1)[-1]
        cut = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
        if cut < 0:
            return -1
        cut += len(chunk) - len(tail)
        if chunk[cut : cut + 1] == b"\r" and cut + 1 == len(chunk):
            return -1  # a "\r\n" may be split across chunks
        if chunk[cut : cut + 1] == b"\r" and chunk[cut + 1 : cut + 2] == b"\n":
            cut += 1
        return cut + 1


class StagedFeed:
    """The raw feed in a staging table (one text column per header cell), read by PostgreSQL.

    The tables are unlogged (nothing to recover after a crash: the job is run again) and named
    after the job, so that a second connection can share the checking pass; ``drop()`` removes
    them, and ``drop_leftovers()`` those of a job that ended without it.
    """

    def __init__(self, fmt: FeedFormat, *, vendor_id: int, fields: Sequence[str], now, dry_run: bool, name: str = TABLE_PREFIX):
        self.fmt = fmt
        self.vendor_id = vendor_id
        self.fields = tuple(fields)
        self.now = now
        self.dry_run = dry_run
        self.raw_table = name
        self.dup_table = f"{name}_dup"
        self.special_table = f"{name}_special"
        self.cells = [f"c{i}" for i in range(len(fmt.header))]
        self.table = connection.ops.quote_name(Product._meta.db_table)
        self.records = 0
        self.seen_view = False
        self.apostrophe = False
        self.compare = False
        self.prepared = False
        self.helper: _Helper | None = None  # the second connection, while it is used
        self.scan: FeedScan | None = None  # set while loading
        self._lines_known = (0, 0)  # (record, line breaks inside records up to it)

    @staticmethod
    def drop_leftovers() -> None:
        """Drop the staging tables of jobs that are no longer running (their process ended without it)."""
        from .models import MarketplaceImportJob

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relpersistence = 'u' AND relname ~ %s",
                [f"^{TABLE_PREFIX}_[0-9]+$"],
            )
            names = {int(name.rsplit("_", 1)[1]): name for (name,) in cursor.fetchall()}
            running = set(
                MarketplaceImportJob.objects.filter(pk__in=names, status=TaskStatus.RUNNING).values_list("pk", flat=True)
            )
            for pk, name in names.items():
                if pk in running:
                    continue
                try:
                    # A job still at work though no longer marked running holds them: left for later.
                    with transaction.atomic():
                        cursor.execute("SET LOCAL lock_timeout TO '1s'")
                        cursor.execute(f"DROP TABLE IF EXISTS {name}, {name}_special, {name}_dup")
                except DatabaseError as exc:
                    logger.warning("The staging tables %s* were not dropped: %s", name, exc)

    # -- loading ------------------------------------------------------------------------------
    def load(
        self, opener: Opener, on_progress: Callable[[int], None], on_checked: Callable[[int], None] | None = None
    ) -> int:
        """COPY the file into the staging table and check its records; return their count; raise
        NotStageable. ``on_progress`` is told the bytes sent, ``on_checked`` the records checked."""
        columns = ", ".join(f"{c} text" for c in self.cells)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.raw_table}, {self.special_table}, {self.dup_table}")
                cursor.execute(
                    f"CREATE UNLOGGED TABLE {self.raw_table} (rec bigint GENERATED ALWAYS AS IDENTITY, {columns})"
                )
        except ProgrammingError as exc:
            # A database user that may not create tables in its schema (PostgreSQL 15 and later
            # grant that to the database's owner only): the file is read in Python.
            if isinstance(exc.__cause__, psycopg.errors.InsufficientPrivilege):
                raise NotStageable("the database user may not create the staging table") from None
            raise
        try:
            self._copy_segments(opener, on_progress)
        except psycopg.errors.DataError as exc:  # a ragged row, a blank line, bytes not in the encoding ...
            raise NotStageable(f"the server could not read it: {str(exc).splitlines()[0]}") from None
        # The SQL looks for the apostrophe in the trimmed value, where it may follow whitespace
        # (" '=x") that the scan did not take for the start of the value.
        self.apostrophe = self.scan.apostrophe or self.scan.strip
        self.seen_view = not (self.scan.strip or self.scan.apostrophe)
        self._prepare(on_checked or (lambda done: None))
        if self.seen_view:
            # Every sku as written is the sku read: the feed's skus are the staged column itself.
            sku = self._column("id")
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
                cursor.execute(
                    f"CREATE TEMPORARY VIEW {SEEN_TABLE} AS SELECT {sku} AS sku FROM {self.raw_table} WHERE {sku} <> ''"
                )
        return self.records

    def _copy_segments(self, opener: Opener, on_progress: Callable[[int], None]) -> None:
        encoding = PG_ENCODINGS[self.fmt.encoding]
        delimiter = self.fmt.delimiter.replace("'", "''")
        options = (
            f"FORMAT csv, DELIMITER E'{delimiter}'" if delimiter != "\t" else "FORMAT csv, DELIMITER E'\\t'"
        ) + f", ENCODING '{encoding}', FORCE_NOT_NULL ({', '.join(self.cells)})"
        self.scan = FeedScan(self.fmt.delimiter, self.fmt.encoding)
        chunks = _ahead(self._checked_chunks(opener, self.scan))
        carry = b""  # the start of a record that the previous segment left out
        header, sent, done = True, 0, False
        while not done:
            sql = f"COPY {self.raw_table} ({', '.join(self.cells)}) FROM STDIN WITH ({options}, HEADER {str(header).lower()})"
            written = len(carry)
            # Each segment commits on its own (an unlogged table: nothing to flush) so that
            # progress can be written between segments; the server reads a chunk while the
            # next one is checked here.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                with cursor.cursor.copy(sql) as copy:
                    if carry:
                        copy.write(carry)
                    carry = b""
                    for chunk, cut in chunks:
                        if cut >= 0 and written + cut >= SEGMENT_SIZE:
                            copy.write(chunk[:cut])
                            carry, written = chunk[cut:], written + cut
                            break
                        copy.write(chunk)
                        written += len(chunk)
                    else:
                        done = True
                self.records += cursor.cursor.rowcount
            header = False
            sent += written
            on_progress(sent)

    @staticmethod
    def _checked_chunks(opener: Opener, check: FeedScan):
        """Yield the file's chunks with the end of their last whole record (-1: none), checked."""
        tail = b""
        with opener() as source:
            chunk = source.read(CHUNK_SIZE)
            while chunk:
                following = source.read(CHUNK_SIZE)
                if not following:
                    chunk = chunk.rstrip(b"\r\n")  # blank lines at the end hold no record; COPY refuses them
                if b"\x00" in chunk:
                    raise NotStageable("a NUL byte")
                if (b"\\." in tail + chunk[:3] or b"\\." in chunk) and _END_MARKER.search(tail + chunk):
                    raise NotStageable("a line PostgreSQL reads as the end of its data")
                tail = chunk[-3:]
                check.feed(chunk, final=not following)
                yield chunk, check.boundary(chunk) if following else -1
                chunk = following

    @staticmethod
    def _deallocate(cursor) -> None:
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [BATCH_STATEMENT])
        if cursor.fetchone():
            cursor.execute(f"DEALLOCATE {BATCH_STATEMENT}")

    def duplicates(self, examples: int) -> tuple[int, list[str]]:
        """Like ProductWriter.duplicates(), from the repeated skus found before the check."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(SUM(n - 1), 0) FROM {self.dup_table} WHERE sku <> ''")
            repeats = cursor.fetchone()[0]
            if not repeats:
                return 0, []
            cursor.execute(f"SELECT sku FROM {self.dup_table} WHERE sku <> '' ORDER BY sku LIMIT %s", [examples])
            return repeats, [row[0] for row in cursor.fetchall()]

    def drop(self) -> None:
        self.close_helper()
        with connection.cursor() as cursor:
            if self.prepared:
                self._deallocate(cursor)
                self.prepared = False
            cursor.execute(
                "SELECT 1 FROM pg_class WHERE oid = to_regclass(%s) AND relkind = 'v'", [SEEN_TABLE]
            )
            if cursor.fetchone():
                cursor.execute(f"DROP VIEW {SEEN_TABLE}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.raw_table}, {self.special_table}, {self.dup_table}")

    # -- the check of every record, and the statement that writes a batch -------------------------
    def _column(self, name: str) -> str | None:
        index = self.fmt.columns.get(name)
        return None if index is None else f"c{index}"

    def _prepare(self, on_checked: Callable[[int], None]) -> None:
        """Find the repeated skus while the records are indexed, check every record, prepare the batch."""
        statements = self._statements()
        self.helper = _Helper() if self._may_share() else None
        if self.helper is not None:
            # Both connections are at work: no parallel workers beside them.
            self.helper.submit(f"{REPEATED_SETTINGS}; SET max_parallel_workers_per_gather TO 0", None)
            self.helper.submit(statements.repeated, statements.params, answer=True)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_maintenance_workers TO 0")
            cursor.execute(f"CREATE INDEX ON {self.raw_table} (rec)")
            cursor.execute(
                f"CREATE UNLOGGED TABLE {self.special_table} "
                f"(rec bigint, tid tid, nonempty boolean, long boolean, key text, python boolean, new boolean)"
            )
        if self._helped() is None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_local(REPEATED_SETTINGS))
                cursor.execute(statements.repeated, statements.params)

        # The check, a range of records at a time (every other one on the second connection).
        if self.helper is not None:
            self.helper.submit(CHECK_SETTINGS, None)
        ranges = [(lo, min(lo + CHECK_RECORDS - 1, self.records)) for lo in range(1, self.records + 1, CHECK_RECORDS)]

        def check(item: dict) -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_local(CHECK_SETTINGS))
                cursor.execute(statements.check, item)

        items = [{**statements.params, "lo": lo, "hi": hi} for lo, hi in ranges]
        for (_, hi), _ in zip(ranges, self._alternating(statements.check, items, check), strict=True):
            on_checked(hi)

        limit = csv.field_size_limit()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {self.special_table} WHERE long)")
            if cursor.fetchone()[0]:
                # A value longer than Python's csv reads fails the file there, in Python: then the
                # file is read there (its bytes bound its characters from above).
                longer = " OR ".join(f"char_length(s.{c}) > {limit}" for c in self.cells)
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {self.special_table} x JOIN {self.raw_table} s ON s.ctid = x.tid "
                    f"WHERE x.long AND ({longer}))"
                )
                if cursor.fetchone()[0]:
                    raise NotStageable(f"a value longer than {limit:,} characters")
            cursor.execute(f"CREATE INDEX ON {self.special_table} (rec)")
            # Planned once: a batch differs only in its range of records.
            self._deallocate(cursor)
            cursor.execute(f"PREPARE {BATCH_STATEMENT} (bigint, bigint) AS {statements.batch}")
            self.prepared = True
        if self.helper is not None:
            self.helper.submit(BATCH_SETTINGS, None)
            self.helper.submit(f"PREPARE {BATCH_STATEMENT} (bigint, bigint) AS {statements.batch}", None)
        self.python_sql = statements.python
        self.seen_sql = statements.seen
        self.params = statements.params

    def _may_share(self) -> bool:
        # A second connection sees only what is committed: not inside the caller's transaction.
        return bool(imports_settings.SECOND_CONNECTION) and not connection.in_atomic_block

    def _helped(self):
        """The second connection's answer to the statement it was given last (True if it returns no
        row), or None when there is none: then it is no longer used."""
        if self.helper is None:
            return None
        try:
            answer = self.helper.result()
        except Exception as exc:  # noqa: BLE001 - whatever stopped it, this connection does the work
            logger.warning("The second connection stopped (%s): the import goes on with one", exc)
            self.close_helper()
            return None
        return True if answer is None else answer

    def _alternating(self, sql: str, items: list, here: Callable) -> Iterator:
        """Yield the outcome of ``sql`` for each of ``items``, in order: every other one is run on the
        second connection (one ahead, while the one before runs here), the others by ``here``."""
        if self.helper is not None and len(items) > 1:
            self.helper.submit(sql, items[1], answer=True)
        for index, item in enumerate(items):
            found = self._helped() if index % 2 else None
            if found is not None and index + 2 < len(items):
                self.helper.submit(sql, items[index + 2], answer=True)
            yield found if found is not None else here(item)

    def _statements(self) -> SimpleNamespace:
        """Build the statements from the header and what the scan of the bytes found."""
        # Trimmed only when a value may need it; the scan of the bytes says when none can.
        strip = "btrim(s.{}, %(ws)s)" if self.scan.strip else "s.{}"
        nonempty = " OR ".join(f"s.{c} <> ''" for c in self.cells)
        values = {}  # Product field (or sale/quantity/availability/condition text) -> stripped SQL
        for column, name in FEED_COLUMNS.items():
            cell = self._column(column)
            if cell is not None:
                values[name] = strip.format(cell)
        params = {"ws": python_whitespace(), "vendor": self.vendor_id, "now": self.now}
        field_limit = csv.field_size_limit()
        longer = " OR ".join(f"octet_length(s.{c}) > {field_limit}" for c in self.cells)
        maps = {name: known_spellings(name) for name in ("availability", "condition") if name in values}
        selected = []
        checks = ["sku <> ''", "title <> ''", "price ~ %(price_re)s"]
        params.update(price_re=SIMPLE_PRICE, quantity_re=SIMPLE_QUANTITY)
        for name, expression in values.items():
            if name in maps:
                whens = " ".join(f"WHEN %({name}_k{i})s THEN %({name}_v{i})s" for i in range(len(maps[name])))
                for i, (spelling, value) in enumerate(maps[name].items()):
                    params[f"{name}_k{i}"], params[f"{name}_v{i}"] = spelling, value
                expression = f"CASE {expression} {whens} END"
                checks.append(f"{name} IS NOT NULL")
            selected.append(f"{expression} AS {name}")
        if "sale_price" in values:
            checks.append("(sale_price = '' OR sale_price ~ %(price_re)s)")
        if "quantity" in values:
            checks.append("(quantity = '' OR quantity ~ %(quantity_re)s)")
        for name in values:
            if self.apostrophe and name not in ("price", "sale_price", "quantity", "availability", "condition"):
                # A value starting with an apostrophe may be an exported formula cell to restore.
                checks.append(f"left({name}, 1) <> ''''")
            limit = _MAX_LENGTH.get(name)
            if limit:
                # The byte length bounds the character length and costs nothing.
                checks.append(f"(octet_length({name}) <= {limit} OR char_length({name}) <= {limit})")

        def converted(alias: str) -> dict[str, str]:
            """The Product fields from the selected (and checked) values under ``alias``."""
            found = {name: f"{alias}.{name}" for name in values}
            found["price"] = f"split_part({alias}.price, ' ', 1)::numeric"
            found["currency"] = f"split_part({alias}.price, ' ', 2)"
            if "sale_price" in values:
                found["sale_price"] = f"NULLIF(split_part({alias}.sale_price, ' ', 1), '')::numeric"
            if "quantity" in values:
                found["quantity"] = f"NULLIF({alias}.quantity, '')::integer"
            return found

        written = [name for name in PRODUCT_FIELDS if name in converted("r")]
        assert tuple(written) == self.fields, (written, self.fields)
        changed = [name for name in written if name != "sku"]
        stored = ", ".join(f"cur.{name}" for name in changed) + ", cur.is_active"

        statements = SimpleNamespace(params=params)
        # The repeated skus. Blank records count for the empty sku: a record without sku goes to
        # Python all the same (and is rejected there), and the empty sku is never reported.
        statements.repeated = f"""CREATE UNLOGGED TABLE {self.dup_table} AS SELECT key AS sku, COUNT(*) AS n
            FROM (SELECT {self._sku_key(values["sku"])} AS key FROM {self.raw_table} s) x
            GROUP BY key HAVING COUNT(*) > 1"""

        # The check of a range of records notes the ones SQL does not convert: blank ones
        # (skipped), the ones Python reads, and every occurrence of a repeated sku. A vendor
        # without products (a first import) has nothing to compare: each batch then writes its
        # other records straight from the staged file. Otherwise each record is compared with its
        # product and the ones to write are noted too: an unchanged feed writes nothing and its
        # batches have nothing to do. Should products change meanwhile, the upsert's ON CONFLICT
        # ... WHERE still decides what is written.
        self.compare = Product.objects.filter(vendor_id=self.vendor_id).exists()
        if self.compare:
            staged = ", ".join(converted("w")[name] for name in changed) + ", TRUE"
            # Each record looks its product up by the (vendor, sku) index, whatever the statistics
            # of a table just filled say (LIMIT keeps the lookup apart from the planner's joins).
            joined = (
                f"LEFT JOIN LATERAL (SELECT * FROM {self.table} p WHERE p.vendor_id = %(vendor)s AND p.sku = w.sku "
                f"LIMIT 1) cur ON TRUE"
            )
            new = "cur.id IS NULL"
            kept = f"CASE WHEN w.python THEN TRUE ELSE cur.id IS NULL OR ({stored}) IS DISTINCT FROM ({staged}) END"
        else:
            joined, new, kept = "", "NULL::boolean", "w.python"
        statements.check = f"""INSERT INTO {self.special_table} (rec, tid, nonempty, long, key, python, new)
            SELECT w.rec, w.tid, w.nonempty, w.long, w.key, w.python, {new}
            FROM (
                SELECT v.*, {self._sku_key("v.sku")} AS key,
                    (NOT v.nonempty OR v.long OR NOT ({" AND ".join(checks)})
                     OR {self._sku_key("v.sku")} IN (SELECT sku FROM {self.dup_table})) AS python
                FROM (
                    SELECT s.rec, s.ctid AS tid, ({nonempty}) AS nonempty, ({longer}) AS long, {", ".join(selected)}
                    FROM {self.raw_table} s WHERE s.rec BETWEEN %(lo)s AND %(hi)s
                ) v
            ) w {joined}
            WHERE {kept}"""

        values_r = converted("r")
        insert_values = ", ".join(values_r.get(name, column_default(name)) for name in STAGE_COLUMNS)

        # A batch: $1, $2 its range of records.
        if self.compare:
            rows = f"""SELECT {", ".join(selected)} FROM {self.special_table} x JOIN {self.raw_table} s ON s.ctid = x.tid
                       WHERE x.rec BETWEEN $1 AND $2 AND NOT x.python"""
        else:
            rows = f"""SELECT {", ".join(selected)} FROM {self.raw_table} s WHERE s.rec BETWEEN $1 AND $2
                       AND s.rec NOT IN (SELECT x.rec FROM {self.special_table} x WHERE x.rec BETWEEN $1 AND $2)"""
        if self.dry_run and self.compare:
            batch = f"""SELECT COUNT(*) FILTER (WHERE x.new), COUNT(*) FILTER (WHERE NOT x.new)
                FROM {self.special_table} x WHERE x.rec BETWEEN $1 AND $2 AND NOT x.python"""
        elif self.dry_run:  # nothing stored yet: every record SQL converts would be created
            batch = f"SELECT COUNT(*), 0 FROM ({rows}) r"
        else:
            batch = upsert_statement(
                table=self.table, source="r", values=insert_values, changed=changed, before=f"r AS ({rows})"
            )
        with connection.cursor() as cursor:
            statements.batch = cursor.mogrify(batch, params)
        cells = ", ".join(f"s.{c}" for c in self.cells)
        python = f"SELECT x.rec FROM {self.special_table} x WHERE x.rec BETWEEN %(lo)s AND %(hi)s AND x.python"
        statements.python = (
            f"SELECT x.rec, x.nonempty, ARRAY[{cells}] FROM {self.special_table} x JOIN {self.raw_table} s "
            f"ON s.ctid = x.tid WHERE x.rec BETWEEN %(lo)s AND %(hi)s AND x.python ORDER BY x.rec"
        )
        # The skus of the records a batch wrote, when they are not the staged column as it is
        # (Python records those of its rows).
        statements.seen = (
            f"INSERT INTO {SEEN_TABLE} (sku) SELECT {values['sku']} FROM {self.raw_table} s "
            f"WHERE s.rec BETWEEN %(lo)s AND %(hi)s AND s.rec NOT IN ({python})"
        )
        return statements

    def _sku_key(self, sku: str) -> str:
        # An exported formula cell comes back without its apostrophe: "'=x" and "=x" are one sku.
        return f"ltrim({sku}, '''')" if self.apostrophe else sku

    def batches(self, size: int) -> Iterator[StagedBatch]:
        """Write the records, ``size`` at a time, in order; yield what each batch did.

        Outside a transaction every other batch is written on the second connection, while the one
        before it is written here; the records for Python are handed back in order all the same.
        """
        ranges = [[lo, min(lo + size - 1, self.records)] for lo in range(1, self.records + 1, size)]

        def write(item: list) -> tuple[int, int]:
            with connection.cursor() as cursor:
                cursor.execute(_local(BATCH_SETTINGS))
                cursor.execute(f"EXECUTE {BATCH_STATEMENT} (%s, %s)", item)
                return cursor.fetchone()

        written = self._alternating(f"EXECUTE {BATCH_STATEMENT} (%s, %s)", ranges, write)
        for (lo, hi), (created, updated) in zip(ranges, written, strict=True):
            where = {**self.params, "lo": lo, "hi": hi}
            with connection.cursor() as cursor:
                cursor.execute(self.python_sql, where)
                special = cursor.fetchall()
                if not self.seen_view:
                    cursor.execute(self.seen_sql, where)
            yield StagedBatch(
                done=(hi - lo + 1) - len(special), created=created, updated=updated,
                rest=[(rec, cells) for rec, nonempty, cells in special if nonempty],
            )

    def close_helper(self) -> None:
        if self.helper is not None:
            self.helper.close()
            self.helper = None

    # -- line numbers of the rows handed to Python ----------------------------------------------
    def lines(self, records: Sequence[int]) -> dict[int, int]:
        """Return the line each record starts on, as Python's csv module counts lines."""
        if not records:
            return {}
        known, breaks = self._lines_known
        last = max(records)
        joined = " || ".join(f"s.{c}" for c in self.cells)
        inner = (
            "(char_length(x) - char_length(replace(x, E'\\n', ''))) + (char_length(x) - char_length(replace(x, E'\\r', '')))"
            " - (char_length(x) - char_length(replace(x, E'\\r\\n', ''))) / 2"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT rec, SUM(b) OVER (ORDER BY rec) - b, SUM(b) OVER (ORDER BY rec)
                    FROM (SELECT s.rec, {inner} AS b FROM {self.raw_table} s, LATERAL (SELECT {joined} AS x) j
                          WHERE s.rec > %s AND s.rec <= %s) t ORDER BY rec""",
                [known, last],
            )
            wanted = set(records)
            found = {}
            total = 0
            for rec, before, through in cursor.fetchall():
                total = through
                if rec in wanted:
                    # The header is line 1; a record starts after each earlier record's lines.
                    found[rec] = 1 + rec + breaks + before
        self._lines_known = (last, breaks + total)
        return found


class _Helper:
    """A second database connection, in a thread, running the statements it is given in order.

    ``result()`` answers the statements submitted with ``answer`` set, in order; an error stops
    the thread and is raised by the next ``result()``.
    """

    def __init__(self):
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._answers: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="product-import-second", daemon=True)
        self._thread.start()

    def submit(self, sql: str, params, answer: bool = False) -> None:
        self._todo.put((sql, params, answer))

    def result(self):
        item = self._answers.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._todo.put(None)
        self._thread.join()

    def _run(self) -> None:
        second = None
        try:
            second = connections.create_connection(DEFAULT_DB_ALIAS)
            with second.cursor() as cursor:
                while (item := self._todo.get()) is not None:
                    sql, params, answer = item
                    cursor.execute(sql, params)
                    if answer:
                        self._answers.put(cursor.fetchone() if cursor.description else None)
        except BaseException as exc:  # handed over: the first connection carries on alone
            self._answers.put(exc)
        finally:
            if second is not None:
                second.close()


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


def _ahead(items: Iterator, size: int = 2) -> Iterator:
    """Yield what ``items`` yields, produced in a thread: it reads and checks the next chunks while
    this one waits for PostgreSQL (GIL released). Its exception is raised here, in order."""
    done = object()
    slots: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def offer(item) -> bool:
        # Never blocks for good: a consumer that stopped (its COPY failed) takes nothing more.
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(done)
        except BaseException as exc:  # handed over to the consumer, which raises it
            offer(exc)

    thread = threading.Thread(target=produce, name="product-import-scan", daemon=True)
    thread.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
