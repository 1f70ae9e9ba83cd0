"""Write a product feed (CSV or Google Shopping XML) from the database to a binary stream, batch by batch."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import BinaryIO
from xml.sax.saxutils import escape

from django.db import connection
from django.db.models import QuerySet

from wizamart.marketplace.feed import (
    ESCAPE_PREFIX,
    FEED_COLUMNS,
    FORMULA_PREFIXES,
    NUMBER_PATTERN,
    NUMERIC_COLUMNS,
    feed_cell,
    format_price,
)
from wizamart.marketplace.models import Product

CSV = "csv"
XML = "xml"

# Rows fetched and written per step: memory stays flat; progress and cancel are checked per batch.
BATCH_ROWS = 5000

GOOGLE_NS = "http://base.google.com/ns/1.0"
# RSS 2.0 items carry title, link and description natively; every other column is a g: attribute.
XML_ELEMENTS: dict[str, str] = {
    column: column if column in ("title", "link", "description") else f"g:{column}" for column in FEED_COLUMNS
}
XML_ELEMENTS["weight"] = "g:shipping_weight"

# Characters XML 1.0 does not allow (tab, LF and CR are allowed): removed from the text.
_XML_INVALID = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + ["\ufffe", "\uffff"]
_XML_INVALID_TABLE = str.maketrans("", "", "".join(_XML_INVALID))
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


def xml_text(value: str) -> str:
    """Escape text for an XML element: invalid characters dropped, CR kept as a reference."""
    # A parser turns a literal CR into LF; &#13; survives parsing.
    return escape(value.translate(_XML_INVALID_TABLE)).replace("\r", "&#13;")


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
    use_sql: bool | None = None,
) -> int:
    """Write the feed to ``out``; call ``on_batch(rows_so_far)`` after each batch; return the row count.

    On PostgreSQL the database formats the rows (COPY for CSV) and they stream in batches;
    elsewhere a chunked cursor feeds Python writers. Both write the same feed.
    """
    if use_sql is None:
        use_sql = connection.vendor == "postgresql"
    if fmt == XML:
        out.write(xml_header(**xml_channel).encode())
    else:
        out.write((",".join(FEED_COLUMNS) + "\n").encode())
    batches = _sql_batches(filters, fmt) if use_sql else _python_batches(filters, fmt)
    rows = 0
    for write_batch in batches:
        rows += write_batch(out)
        on_batch(rows)
    if fmt == XML:
        out.write(XML_FOOTER.encode())
    return rows


def count_products(filters: FeedFilters) -> int:
    return filters.queryset().count()


# --- portable path: a chunked cursor and Python writers ---------------------------------------------


def _python_batches(filters: FeedFilters, fmt: str) -> Iterator[Callable[[BinaryIO], int]]:
    fields = list(FEED_COLUMNS.values()) + ["currency"]
    rows = filters.queryset().values_list(*fields).iterator(chunk_size=BATCH_ROWS)
    format_row = _csv_formatter() if fmt == CSV else _xml_item
    exhausted = False

    def write_batch(out: BinaryIO) -> int:
        nonlocal exhausted
        buffer = io.StringIO()
        count = 0
        for row in rows:
            buffer.write(format_row(row))
            count += 1
            if count == BATCH_ROWS:
                break
        else:
            exhausted = True
        out.write(buffer.getvalue().encode())
        return count

    while not exhausted:
        yield write_batch


def _cells(row: tuple) -> Iterator[tuple[str, str]]:
    currency = row[-1]
    for (column, field), value in zip(FEED_COLUMNS.items(), row, strict=False):
        if field in _PRICE_FIELDS:
            yield column, format_price(value, currency)
        else:
            yield column, "" if value is None else str(value)


def _csv_formatter() -> Callable[[tuple], str]:
    line = io.StringIO()
    minimal = csv.writer(line, lineterminator="\n")
    # Python's csv quotes a bare CR only when CR ends lines: a row holding one is quoted whole.
    quote_all = csv.writer(line, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def format_row(row: tuple) -> str:
        cells = [feed_cell(column, value) for column, value in _cells(row)]
        line.seek(0)
        line.truncate()
        (quote_all if any("\r" in cell for cell in cells) else minimal).writerow(cells)
        return line.getvalue()

    return format_row


def _xml_item(row: tuple) -> str:
    parts = ["<item>\n"]
    for column, value in _cells(row):
        if value:
            name = XML_ELEMENTS[column]
            parts.append(f"<{name}>{xml_text(value)}</{name}>\n")
    parts.append("</item>\n")
    return "".join(parts)


# --- PostgreSQL path: the database formats the rows ----------------------------------------------------


def _sql_literal(text: str) -> str:
    """Quote a constant of this module for SQL (never user input: that goes as parameters)."""
    body = "".join(f"\\x{ord(ch):02x}" if ord(ch) < 0x20 else ch.replace("\\", "\\\\").replace("'", "''") for ch in text)
    return f"E'{body}'"


def _sql_column_texts() -> dict[str, str]:
    """Return, per feed column, the SQL expression of its text (NULL when empty)."""
    table = connection.ops.quote_name(Product._meta.db_table)

    def column_of(field_name: str) -> str:
        return f"{table}.{connection.ops.quote_name(Product._meta.get_field(field_name).column)}"

    texts = {}
    for column, field_name in FEED_COLUMNS.items():
        col = column_of(field_name)
        if field_name in _PRICE_FIELDS:
            # The same text as format_price(): numeric(12, 2) prints two decimals, then the currency.
            texts[column] = f"rtrim({col}::text || ' ' || {column_of('currency')})"
        elif field_name == "quantity":
            texts[column] = f"{col}::text"
        else:
            texts[column] = f"NULLIF({col}, '')"
    return texts


def _sql_csv_cell(column: str, text: str) -> str:
    """SQL twin of feed_cell()."""
    prefixes = ", ".join(_sql_literal(p) for p in FORMULA_PREFIXES + (ESCAPE_PREFIX,))
    neutralised = f"CASE WHEN left({text}, 1) IN ({prefixes}) THEN {_sql_literal(ESCAPE_PREFIX)} || {text} ELSE {text} END"
    if column in NUMERIC_COLUMNS:
        return f"CASE WHEN {text} ~ {_sql_literal(NUMBER_PATTERN)} THEN {text} ELSE {neutralised} END"
    return neutralised


def _sql_xml_text(text: str) -> str:
    """SQL twin of xml_text()."""
    # PostgreSQL text never holds NUL (nor can a literal): the other invalid characters are dropped.
    escaped = f"translate({text}, {_sql_literal(''.join(_XML_INVALID[1:]))}, '')"
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        escaped = f"replace({escaped}, {_sql_literal(raw)}, {_sql_literal(entity)})"
    return escaped


def _sql_xml_item(texts: dict[str, str]) -> str:
    """SQL twin of _xml_item(): empty columns are left out."""
    parts = ["'<item>' || chr(10)"]
    for column, text in texts.items():
        name = XML_ELEMENTS[column]
        parts.append(f"coalesce('<{name}>' || {_sql_xml_text(text)} || '</{name}>' || chr(10), '')")
    parts.append("'</item>' || chr(10)")
    return " || ".join(parts)


def _where(filters: FeedFilters) -> tuple[str, list]:
    """Return the filters' WHERE clause (columns qualified by the product table) and its parameters."""
    query = filters.queryset().query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql, list(params)


def _batch_bounds(table: str, where: str, params: list) -> list[int]:
    """Return the id that ends each full batch of the filtered rows, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT {table}.id, row_number() OVER (ORDER BY {table}.id) AS n FROM {table}"
            f" WHERE {where}) AS numbered WHERE n %% %s = 0 ORDER BY id",
            [*params, BATCH_ROWS],
        )
        return [row[0] for row in cursor.fetchall()]


def _sql_batches(filters: FeedFilters, fmt: str) -> Iterator[Callable[[BinaryIO], int]]:
    table = connection.ops.quote_name(Product._meta.db_table)
    where, params = _where(filters)
    texts = _sql_column_texts()
    if fmt == CSV:
        select = ", ".join(_sql_csv_cell(column, text) for column, text in texts.items())
    else:
        select = _sql_xml_item(texts)
    bounds = _batch_bounds(table, where, params)
    for low, high in zip([None, *bounds], [*bounds, None], strict=True):
        condition, batch_params = where, list(params)
        if low is not None:
            condition += f" AND {table}.id > %s"
            batch_params.append(low)
        if high is not None:
            condition += f" AND {table}.id <= %s"
            batch_params.append(high)
        if fmt == CSV:
            yield partial(_copy_batch, f"SELECT {select} FROM {table} WHERE {condition} ORDER BY {table}.id", batch_params)
        else:
            yield partial(
                _xml_batch,
                f"SELECT count(*), coalesce(string_agg(item, '' ORDER BY id), '') FROM"
                f" (SELECT {table}.id, {select} AS item FROM {table} WHERE {condition}) AS items",
                batch_params,
            )


def _copy_batch(select: str, params: list, out: BinaryIO) -> int:
    """Stream one batch with COPY ... TO STDOUT; return the row count COPY reports."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for chunk in copy:
                out.write(chunk)
        return raw.rowcount


def _xml_batch(select: str, params: list, out: BinaryIO) -> int:
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        count, text = cursor.fetchone()
    out.write(text.encode())
    return count
