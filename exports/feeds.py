"""Write a product feed (CSV or Google Shopping XML) from the database to a binary stream, batch by batch."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, Max, Min, QuerySet

from background_tasks.producer import Producer
from wizamart.marketplace.feed import (
    ESCAPE_PREFIX,
    FEED_COLUMNS,
    FORMULA_PREFIXES,
    GOOGLE_NS,
    NUMBER_PATTERN,
    NUMERIC_COLUMNS,
    SELLER_ID_SEPARATOR,
    feed_cell,
    format_price,
)
from wizamart.marketplace.models import Product, Vendor

from .google import (
    GOOGLE_WEIGHT_PATTERN,
    IDENTIFIER_EXISTS_NO,
    LINK_SEPARATOR_PATTERN,
    LINK_SPACE,
    SELLER_ELEMENT,
    TITLE_MAX,
    WEIGHT_PATTERN,
    WEIGHT_UNITS,
    XML_ELEMENTS,
    google_texts,
)

if TYPE_CHECKING:
    from psycopg import Copy

CSV = "csv"
XML = "xml"

# Rows fetched and written per step: memory stays flat; progress and cancel are checked per batch.
BATCH_ROWS = 5000
# From this many ranges on, a second connection reads every other range (see _copy_batches).
SECOND_STREAM_MIN_RANGES = 4

# Bytes of characters XML 1.0 does not allow (tab, LF and CR are allowed), removed from the feed.
# In UTF-8 they never occur inside another character, so whole batches are cleaned at once.
_XML_INVALID_BYTES = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_XML_INVALID_SINGLE_BYTES = [bytes([c]) for c in _XML_INVALID_BYTES]
_XML_NONCHARACTERS = ("\ufffe".encode(), "\uffff".encode())
_XML_NONCHARACTER_LEAD = b"\xef\xbf"
_PRICE_FIELDS = ("price", "sale_price")


@dataclass(frozen=True)
class FeedFilters:
    """Which products a feed holds: active products of one vendor (or all), optionally narrowed."""

    vendor_id: int | None = None
    availability: str = ""
    updated_since: datetime | None = None

    def queryset(self) -> QuerySet:
        products = Product.objects.filter(is_active=True)
        if self.vendor_id is not None:
            products = products.filter(vendor_id=self.vendor_id)
        if self.availability:
            products = products.filter(availability=self.availability)
        if self.updated_since is not None:
            products = products.filter(updated_at__gte=self.updated_since)
        return products.order_by("pk")

    def measure(self) -> FeedSize:
        """Count the rows and find their first and last ids, in one query."""
        found = self.queryset().aggregate(rows=Count("pk"), first_id=Min("pk"), last_id=Max("pk"))
        return FeedSize(**found)


@dataclass(frozen=True)
class FeedSize:
    rows: int
    first_id: int | None
    last_id: int | None

    def id_ranges(self, batch_rows: int) -> list[tuple[int, int]]:
        """Split the ids into ranges of about ``batch_rows`` rows each (exactly, when ids are dense).

        Ranges come from arithmetic on the ids, not from a query per batch; gaps in the ids only
        make some batches smaller.
        """
        if not self.rows:
            return []
        count = -(-self.rows // batch_rows)
        width = -(-(self.last_id - self.first_id + 1) // count)
        return [(low, min(low + width - 1, self.last_id)) for low in range(self.first_id, self.last_id + 1, width)]


def xml_escape(value: str) -> str:
    """Escape the markup characters of a text value (the rest is done by xml_clean on whole batches)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_clean(data: bytes) -> bytes:
    """Drop characters XML 1.0 forbids and keep CR as a reference (a parser would turn a raw CR into LF)."""
    # Looking for each byte (memchr) is several times faster than translate(), and they are rare.
    if any(invalid in data for invalid in _XML_INVALID_SINGLE_BYTES):
        data = data.translate(None, _XML_INVALID_BYTES)
    # Both noncharacters start with these two bytes: one search instead of two replace() passes,
    # and only when their first byte occurs (one byte is found several times faster than two).
    if _XML_NONCHARACTER_LEAD[:1] in data and _XML_NONCHARACTER_LEAD in data:
        for noncharacter in _XML_NONCHARACTERS:
            data = data.replace(noncharacter, b"")
    return data.replace(b"\r", b"&#13;")


def xml_text(value: str) -> str:
    """Escape text for an XML element: markup escaped, invalid characters dropped, CR kept."""
    return xml_clean(xml_escape(value).encode()).decode()


def xml_header(*, title: str, link: str, description: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rss version="2.0" xmlns:g="{GOOGLE_NS}">\n'
        "<channel>\n"
        f"<title>{xml_text(title)}</title>\n"
        f"<link>{xml_text(link)}</link>\n"
        f"<description>{xml_text(description)}</description>\n"
    )


XML_FOOTER = "</channel>\n</rss>\n"


def write_feed(
    *,
    filters: FeedFilters,
    fmt: str,
    out: BinaryIO,
    xml_channel: dict[str, str],
    on_batch: Callable[[int], None],
    size: FeedSize | None = None,
    use_sql: bool | None = None,
) -> int:
    """Write the feed to ``out``; call ``on_batch(rows_so_far)`` after each batch; return the row count.

    On PostgreSQL the database formats the rows and COPY streams them to the file; elsewhere a
    chunked cursor feeds Python writers. Both write the same feed.
    """
    if use_sql is None:
        use_sql = connection.vendor == "postgresql"
    if fmt == XML:
        out.write(xml_header(**xml_channel).encode())
    else:
        out.write((",".join(FEED_COLUMNS) + "\n").encode())
    if use_sql:
        size = size or filters.measure()
        written = _sql_csv_rows(filters, size, out) if fmt == CSV else _sql_xml_rows(filters, size, out)
    else:
        written = _python_csv_rows(filters, out) if fmt == CSV else _python_xml_rows(filters, out)
    rows = 0
    # Closed at once when on_batch() raises (a cancel), not when the traceback is collected.
    with closing(written):
        for rows in written:
            on_batch(rows)
    if fmt == XML:
        out.write(XML_FOOTER.encode())
    return rows


# --- portable path: a chunked cursor and Python writers ---------------------------------------------


def _value_rows(filters: FeedFilters, *extra: str) -> Iterator[list[tuple]]:
    """Yield the feed's values (then currency and the ``extra`` fields), BATCH_ROWS rows at a time."""
    fields = [*FEED_COLUMNS.values(), "currency", *extra]
    rows = filters.queryset().values_list(*fields).iterator(chunk_size=BATCH_ROWS)
    while batch := list(islice(rows, BATCH_ROWS)):
        yield batch


def _cells(row: tuple) -> Iterator[tuple[str, str]]:
    currency = row[len(FEED_COLUMNS)]
    for (column, field), value in zip(FEED_COLUMNS.items(), row, strict=False):
        if field in _PRICE_FIELDS:
            yield column, format_price(value, currency)
        else:
            yield column, "" if value is None else str(value)


def _python_csv_rows(filters: FeedFilters, out: BinaryIO) -> Iterator[int]:
    buffer = io.StringIO()
    minimal = csv.writer(buffer, lineterminator="\n")
    # Python's csv quotes a bare CR only when CR ends lines: a row holding one is quoted whole.
    quote_all = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    rows = 0
    for batch in _value_rows(filters):
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            cells = [feed_cell(column, value) for column, value in _cells(row)]
            (quote_all if any("\r" in cell for cell in cells) else minimal).writerow(cells)
        out.write(buffer.getvalue().encode())
        rows += len(batch)
        yield rows


def _python_xml_item(row: tuple, parts: list[str], *, all_vendors: bool) -> None:
    """Append one product's Google Merchant item to ``parts`` (see exports.google)."""
    vendor_code = row[-1] if all_vendors else None
    cells = dict(_cells(row))
    parts.append("<item>\n")
    for column, name in XML_ELEMENTS.items():
        for text in google_texts(column, cells[column], vendor_code):
            parts.append(f"<{name}>{xml_escape(text)}</{name}>\n")
    if not (cells["brand"] or cells["gtin"] or cells["mpn"]):
        parts.append(IDENTIFIER_EXISTS_NO)
    if all_vendors:
        parts.append(f"<{SELLER_ELEMENT}>{xml_escape(vendor_code)}</{SELLER_ELEMENT}>\n")
    parts.append("</item>\n")


def _python_xml_rows(filters: FeedFilters, out: BinaryIO) -> Iterator[int]:
    rows = 0
    all_vendors = filters.vendor_id is None
    for batch in _value_rows(filters, *(["vendor__code"] if all_vendors else [])):
        parts: list[str] = []
        for row in batch:
            _python_xml_item(row, parts, all_vendors=all_vendors)
        out.write(xml_clean("".join(parts).encode()))
        rows += len(batch)
        yield rows


# --- PostgreSQL path: the database formats the rows ----------------------------------------------------


def _sql_literal(text: str) -> str:
    """Quote a constant of this module for SQL (never user input: that goes as parameters)."""
    body = "".join(f"\\x{ord(ch):02x}" if ord(ch) < 0x20 else ch.replace("\\", "\\\\").replace("'", "''") for ch in text)
    return f"E'{body}'"


def _sql_column(field_name: str) -> str:
    table = connection.ops.quote_name(Product._meta.db_table)
    return f"{table}.{connection.ops.quote_name(Product._meta.get_field(field_name).column)}"


def _sql_column_texts(*, empty_as_null: bool) -> dict[str, str]:
    """Return, per feed column, the SQL expression of its text."""
    texts = {}
    for column, field_name in FEED_COLUMNS.items():
        col = _sql_column(field_name)
        if field_name in _PRICE_FIELDS:
            # The same text as format_price(): numeric(12, 2) prints two decimals, then the currency.
            texts[column] = f"rtrim({col}::text || ' ' || {_sql_column('currency')})"
        elif field_name == "quantity":
            texts[column] = f"{col}::text"
        else:
            texts[column] = f"NULLIF({col}, '')" if empty_as_null else col
    return texts


def _sql_csv_cell(column: str, text: str) -> str:
    """SQL twin of feed_cell(); ascii() of the first character is the cheapest test PostgreSQL has.

    The test is left out where the column's type decides it: an integer's text is always a number,
    and a price's text starts with a digit unless the price is negative.
    """
    field_name = FEED_COLUMNS[column]
    if field_name == "quantity":
        return text
    number = f"{text} !~ {_sql_literal(NUMBER_PATTERN)}"
    if field_name in _PRICE_FIELDS:
        risky = f"{_sql_column(field_name)} < 0 AND {number}"
    else:
        codes = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES + (ESCAPE_PREFIX,))
        risky = f"ascii({text}) IN ({codes})"
        if column in NUMERIC_COLUMNS:
            risky += f" AND {number}"
    return f"CASE WHEN {risky} THEN {_sql_literal(ESCAPE_PREFIX)} || {text} ELSE {text} END"


def _sql_escaped(text: str) -> str:
    """SQL twin of xml_escape()."""
    return f"replace(replace(replace({text}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def _sql_google_weight(text: str) -> str:
    """SQL twin of google.google_weight(): NULL when the text is no weight Google takes.

    A weight already in Google's form (the usual case) is tested with one match and kept; only the
    others are taken apart, which costs several times more.
    """
    match = f"regexp_match({text}, {_sql_literal('^' + WEIGHT_PATTERN + '$')})"
    units = " ".join(f"WHEN {_sql_literal(spelling)} THEN {_sql_literal(unit)}" for spelling, unit in WEIGHT_UNITS.items())
    converted = f"replace(({match})[1], ',', '.') || ' ' || CASE lower(({match})[2]) {units} END"
    return f"CASE WHEN {text} ~ {_sql_literal('^' + GOOGLE_WEIGHT_PATTERN + '$')} THEN {text} ELSE {converted} END"


def _sql_google_texts(column: str, text: str, vendor_code: str | None) -> str:
    """SQL twin of google.google_texts(), escaped: the elements' texts, NULL for none; the additional
    images come back joined by the elements' closing and opening tags."""
    if column == "id" and vendor_code is not None:
        text = f"{vendor_code} || {_sql_literal(SELLER_ID_SEPARATOR)} || {text}"
    elif column == "title":
        text = f"left({text}, {TITLE_MAX})"
    elif column == "weight":
        text = _sql_google_weight(text)
    escaped = _sql_escaped(text)
    if column == "additional_image_link":
        name = XML_ELEMENTS[column]
        between = _sql_literal(f"</{name}>" + chr(10) + f"<{name}>")
        trimmed = f"NULLIF(btrim({escaped}, {_sql_literal(LINK_SPACE)}), '')"
        escaped = f"regexp_replace({trimmed}, {_sql_literal(LINK_SEPARATOR_PATTERN)}, {between}, 'g')"
    return escaped


def _sql_xml_item(texts: dict[str, str], *, vendor_code: str | None) -> str:
    """SQL twin of the items _python_xml_item() writes: markup escaped, empty columns left out.

    ``vendor_code`` is the SQL of the product's vendor code in a feed of every vendor, else None.
    """
    elements = []
    for column, name in XML_ELEMENTS.items():
        escaped = _sql_google_texts(column, texts[column], vendor_code)
        # NULL when the column is empty, and concat() skips NULLs.
        elements.append(f"'<{name}>' || {escaped} || {_sql_literal(f'</{name}>' + chr(10))}")
    identifiers = " AND ".join(f"{_sql_column(name)} = ''" for name in ("brand", "gtin", "mpn"))
    elements.append(f"CASE WHEN {identifiers} THEN {_sql_literal(IDENTIFIER_EXISTS_NO)} END")
    if vendor_code is not None:
        seller = _sql_literal(f"</{SELLER_ELEMENT}>" + chr(10))
        elements.append(f"'<{SELLER_ELEMENT}>' || {_sql_escaped(vendor_code)} || {seller}")
    return f"concat({_sql_literal('<item>' + chr(10))}, {', '.join(elements)}, {_sql_literal('</item>' + chr(10))})"


def _where(filters: FeedFilters) -> tuple[str, list]:
    """Return the filters' WHERE clause (columns qualified by the product table) and its parameters."""
    query = filters.queryset().query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql, list(params)


def _sql_csv_rows(filters: FeedFilters, size: FeedSize, out: BinaryIO) -> Iterator[int]:
    texts = _sql_column_texts(empty_as_null=False)
    select = ", ".join(_sql_csv_cell(column, text) for column, text in texts.items())
    return _copy_batches(filters, size=size, select=select, options="FORMAT csv", out=out, read=None)


def _sql_xml_rows(filters: FeedFilters, size: FeedSize, out: BinaryIO) -> Iterator[int]:
    texts = _sql_column_texts(empty_as_null=True)
    if filters.vendor_id is None:
        vendors = connection.ops.quote_name(Vendor._meta.db_table)
        join = f"JOIN {vendors} ON {vendors}.{connection.ops.quote_name(Vendor._meta.pk.column)} = {_sql_column('vendor')}"
        select = _sql_xml_item(texts, vendor_code=f"{vendors}.{connection.ops.quote_name(Vendor._meta.get_field('code').column)}")
    else:
        join, select = "", _sql_xml_item(texts, vendor_code=None)
    return _copy_batches(
        filters, size=size, select=select, join=join, options="FORMAT binary", out=out, read=_read_xml_items
    )


def _read_xml_items(copy: Copy) -> bytes:
    """Return one batch of items as bytes: binary COPY hands each item over as it is, unquoted."""
    # The items are text; loading them as bytea keeps their UTF-8 bytes, nothing is decoded.
    copy.set_types(["bytea"])
    return xml_clean(b"".join(item for (item,) in copy.rows()))


def _copy_range_sql(filters: FeedFilters, *, select: str, options: str, join: str = "") -> tuple[str, list]:
    """The filtered products of one range of ids (its bounds are the last two parameters), formatted
    by the database (``select``) and sent as COPY ... TO STDOUT with ``options``; and the filters'
    parameters. Ordered by id, so the feed is the same however it is cut."""
    table = connection.ops.quote_name(Product._meta.db_table)
    pk = f"{table}.{connection.ops.quote_name(Product._meta.pk.column)}"
    where, params = _where(filters)
    statement = (
        f"COPY (SELECT {select} FROM {table} {join} WHERE {where} AND {pk} BETWEEN %s AND %s ORDER BY {pk})"
        f" TO STDOUT WITH ({options})"
    )
    return statement, params


def _copy_batches(
    filters: FeedFilters,
    *,
    size: FeedSize,
    select: str,
    options: str,
    out: BinaryIO,
    read: Callable[[Copy], bytes] | None,
    join: str = "",
) -> Iterator[int]:
    """Stream the rows with one COPY ... TO STDOUT per range of ids, yielding the rows written so far.

    The connection is free between two batches, so the job can write its progress there. With
    enough ranges, and outside a transaction (whose rows only this connection sees), every other
    range is read ahead on a second connection, so the database formats two ranges at once.
    """
    statement, params = _copy_range_sql(filters, select=select, options=options, join=join)
    ranges = size.id_ranges(BATCH_ROWS)
    ahead = None
    if len(ranges) >= SECOND_STREAM_MIN_RANGES and not connection.in_atomic_block:
        ahead = _RangesAhead(statement=statement, params=params, ranges=ranges[1::2], read=read)
    rows = 0
    try:
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for index, (low, high) in enumerate(ranges):
                if ahead is not None and index % 2:
                    data, count = ahead.next()
                    out.write(data)
                    rows += count
                    yield rows
                    continue
                with raw.copy(statement, [*params, low, high]) as copy:
                    if read is None:
                        for chunk in copy:
                            out.write(chunk)
                    else:
                        out.write(read(copy))
                rows += raw.rowcount
                yield rows
    finally:
        if ahead is not None:
            ahead.stop()


def _read_all(copy: Copy) -> bytearray:
    """Return a range's COPY output in one piece (gathering the messages beats joining them)."""
    data = bytearray()
    for chunk in copy:
        data += chunk
    return data


class _RangesAhead:
    """Read ranges on a connection of its own, in a thread, and hand each over as bytes, in order.

    At most one range waits to be taken (and one is being read), so memory stays bounded. Each
    range is one COPY statement in autocommit, as on the main connection. Whatever the reading
    raises is raised by ``next()``: the export never waits for a range forever.
    """

    def __init__(self, statement: str, params: list, ranges: list[tuple[int, int]], read: Callable[[Copy], bytes] | None):
        self._ranges = Producer(
            _read_ranges(statement=statement, params=params, ranges=ranges, read=read), ahead=1, name="export-reader"
        )

    def next(self) -> tuple[bytes, int]:
        """Return the next range's bytes and row count; raise what the reading raised."""
        return next(self._ranges)

    def stop(self) -> None:
        self._ranges.close()


def _read_ranges(
    *, statement: str, params: list, ranges: list[tuple[int, int]], read: Callable[[Copy], bytes] | None
) -> Iterator[tuple[bytes, int]]:
    """Yield each range's bytes and row count, read on a connection opened (and closed) in this thread."""
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with reader.cursor() as cursor:
            raw = cursor.cursor
            for low, high in ranges:
                with raw.copy(statement, [*params, low, high]) as copy:
                    data = _read_all(copy) if read is None else read(copy)
                yield data, raw.rowcount
    finally:
        reader.close()
