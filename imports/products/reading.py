"""Read a product feed forgivingly and as a stream: encoding, delimiter, header, then row values."""
from __future__ import annotations

import codecs
import csv
import io
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

import charset_normalizer
from django.utils import timezone

from wizamart.marketplace.feed import (
    ESCAPE_PREFIX,
    FEED_COLUMNS,
    REQUIRED_COLUMNS,
    SALE_PERIOD_COLUMN,
    SIMPLE_PRICE_RE,
    FeedValueError,
    feed_column,
    normalise_header,
    parse_availability,
    parse_condition,
    parse_price,
    parse_quantity,
    restore_cell,
)
from wizamart.marketplace.models import Product

from .derive import Col, Expr, InEffect, Unless
from .presets import Columns, GroupFill, ParentFill, Preset, detect_preset, preset_named

SAMPLE_SIZE = 256 * 1024
CHUNK_SIZE = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# The Product fields an import writes, in the order of a row's values; sku first.
PRODUCT_FIELDS = (
    "sku",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "price",
    "currency",
    "sale_price",
    "brand",
    "gtin",
    "mpn",
    "condition",
    "google_product_category",
    "product_type",
    "color",
    "size",
    "weight",
    "quantity",
)
MAX_LENGTH = {f.name: f.max_length for f in Product._meta.fields if f.name in PRODUCT_FIELDS and f.max_length}

NOT_TEXT = "The file is not a text (CSV) file."
# A value longer than CELL_LIMIT characters rejects its row (no feed field needs more); the csv
# module reads values up to CSV_FIELD_LIMIT (its default, 131,072, would fail the whole file on
# one long description), and a longer one makes the file unreadable.
CELL_LIMIT = 1024 * 1024
CSV_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
_KNOWN_SPELLINGS = 1024  # availability/condition spellings remembered per import


class FeedUnusable(Exception):
    """The file cannot be imported at all; the message says why, for the vendor.

    ``header`` carries the file's columns when its header was read but required columns are
    missing: a caller may offer a mapping of them instead.
    """

    def __init__(self, message: str, header: list[str] | None = None):
        super().__init__(message)
        self.header = header


class SkipRow(Exception):
    """A row that is not a product of its own (a preset's parent row): skipped, not rejected."""


@dataclass
class FeedFormat:
    """What was detected about a feed file.

    A row is read as its cells, then (``group``) the values its group gives it, then (``derived``)
    the values a preset derives from those: ``columns`` index into that extended row.
    """

    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[str, int]  # feed column -> index in a row (extended: see above)
    fields: tuple[str, ...] = field(default=())  # Product fields the file carries, in PRODUCT_FIELDS order
    skip_records: int = 1  # records before the first product row (header, Excel's "sep=" line)
    verified: bool = True  # False: UTF-8 read from the first 256 KB only (see detect_encoding)
    preset: str | None = None  # the preset applied (detected or forced), None for the generic reader
    # Source header text -> feed column, as applied; for a column a preset reads by a rule, what it
    # does instead (see notes).
    mapping: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] | None = None  # the mapping asked for (kept to read the file again)
    forced_preset: str | None = None
    group: GroupFill | ParentFill | None = None
    derived: tuple[Expr, ...] = ()
    skip_at: int | None = None  # the derived cell that is "1" on a row to skip
    sources: dict[int, str] = field(default_factory=dict)  # header index -> the feed column it feeds
    # Header index -> what a column the preset reads by a rule does ("color or size, by the option's
    # name"), where the first feed column it feeds would not say it.
    notes: dict[int, str] = field(default_factory=dict)
    parent_columns: frozenset[int] = frozenset()  # header indexes that only tell a preset's parent rows
    skip_reason: str = ""
    currency: str = "EUR"  # the currency of prices that carry none (the vendor's default)

    @property
    def grouped_width(self) -> int:
        """The cells of a row before the derived ones: the file's, then its group's."""
        return len(self.header) + (len(self.group.fills) if self.group else 0)

    def extend(self, cells: list[str]) -> list[str]:
        """A row's cells (group values included) with the derived values after them."""
        width = self.grouped_width
        if len(cells) != width:
            cells = (cells + [""] * width)[:width]
        cells.extend(expr.py(cells) for expr in self.derived)
        return cells

    def key_of(self, cells: list[str]) -> str:
        """The sku of a row as sent (for the rejected rows' sample and the count of repeats)."""
        index = self.columns.get("id")
        if index is None:
            return ""
        if index >= self.grouped_width:
            return self.derived[index - self.grouped_width].py(cells).strip()
        return cells[index].strip() if index < len(cells) else ""

    def describe(self) -> dict:
        used = self.sources.keys() | self.parent_columns
        ignored = [name for i, name in enumerate(self.header) if i not in used and name.strip()]
        described = {
            "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES.get(self.delimiter, self.delimiter),
            "columns": sorted(self.columns, key=self.columns.get),
            "ignored_columns": ignored,
        }
        if self.preset:
            described["preset"] = self.preset
            described["mapping"] = dict(self.mapping)
            if self.parent_columns:
                described["parent_row_columns"] = [self.header[i] for i in sorted(self.parent_columns)]
        return described

    def rows(self, opener: Opener) -> FeedRows:
        """The file's product records as a stream of (line number, cells)."""
        return FeedRows(opener, self)


Opener = Callable[[], BinaryIO]


def _decodes(opener: Opener, encoding: str) -> bool:
    """Whether the whole file decodes strictly with ``encoding`` (streamed, flat memory)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with opener() as f:
        try:
            while chunk := f.read(CHUNK_SIZE):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _sample_decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(opener: Opener, verify: bool = True) -> str:
    """Return the file's encoding: a BOM, else UTF-8 if it all decodes, else UTF-16 or a Western code page.

    With ``verify=False`` a file whose first 256 KB read as UTF-8 is taken as UTF-8 without reading
    the rest: for a reader that checks the encoding itself (PostgreSQL's COPY does).
    """
    with opener() as f:
        sample = f.read(SAMPLE_SIZE)
    if not sample.strip():
        raise FeedUnusable("The file is empty.")
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and _decodes(opener, "utf-32"):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _decodes(opener, "utf-16"):
            return "utf-16"
        raise FeedUnusable("The file starts like UTF-16 text but does not decode as UTF-16.")
    if sample.startswith(codecs.BOM_UTF8):
        if not verify and _sample_decodes(sample, "utf-8-sig"):
            return "utf-8-sig"
        if _decodes(opener, "utf-8-sig"):
            return "utf-8-sig"
        raise FeedUnusable("The file starts like UTF-8 text but does not decode as UTF-8.")
    nuls = sample.count(b"\x00")
    if nuls > 1 and nuls * 100 > len(sample):
        # Many NUL bytes: UTF-16/32 without a BOM, or not text at all (a stray one is dropped later).
        guess = charset_normalizer.from_bytes(sample).best()
        if guess is not None and guess.encoding.startswith(("utf_16", "utf_32")) and _decodes(opener, guess.encoding):
            return guess.encoding.replace("_", "-")
        raise FeedUnusable(NOT_TEXT)
    if not verify and _sample_decodes(sample, "utf-8"):
        return "utf-8"
    if _decodes(opener, "utf-8"):
        return "utf-8"
    guess = charset_normalizer.from_bytes(sample).best()
    if guess is None:
        raise FeedUnusable(NOT_TEXT)
    # Western European feeds not in UTF-8 come from Excel on Windows: cp1252 (a superset of
    # latin-1's printable range); the detector often names a sibling code page for short samples.
    for candidate in ("cp1252", guess.encoding):
        if _decodes(opener, candidate):
            return codecs.lookup(candidate).name
    return "latin-1"


def sample_text(opener: Opener, encoding: str) -> str:
    """Return the start of the file (SAMPLE_SIZE bytes) as text, undecodable bytes replaced."""
    with opener() as f:
        raw = f.read(SAMPLE_SIZE)
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=False)


def _first_record(text: str, delimiter: str) -> list[str]:
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        if any(cell.strip() for cell in record):
            return record
    return []


def detect_format(
    opener: Opener, verify: bool = True, *, preset: str | None = None, mapping: dict[str, str] | None = None
) -> FeedFormat:
    """Detect encoding, delimiter, header and the columns to read; raise FeedUnusable naming what is wrong.

    ``verify=False``: see detect_encoding(); the format says whether its encoding was verified.
    ``preset`` forces a preset by name (else it is recognised from the header); ``mapping`` maps
    source header texts to feed columns ("" ignores the column), on top of the preset.
    """
    forced = None
    if preset:
        try:
            forced = preset_named(preset)
        except KeyError as exc:
            raise FeedUnusable(exc.args[0]) from None
    encoding = detect_encoding(opener, verify)
    verified = verify or encoding not in ("utf-8", "utf-8-sig")
    text = sample_text(opener, encoding)
    skip = 1
    first_line = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    sep = None
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        # Excel's hint line: "sep=;" names the delimiter and precedes the header.
        sep, skip = first_line[4], 2
        text = text.split("\n", 1)[1] if "\n" in text else ""
    best = None
    for delimiter in (sep,) if sep else DELIMITERS:
        header = _first_record(text, delimiter)
        score = (_header_score(header, mapping), len(header))
        if best is None or score > best[0]:
            best = (score, delimiter, header)
    (known_count, _), delimiter, header = best
    if not header:
        raise FeedUnusable("The file has no header row.")
    if known_count == 0 and forced is None:
        raise FeedUnusable(
            "No usable header row: none of its columns is a product feed column "
            f"(expected columns such as {', '.join(REQUIRED_COLUMNS)}; found: {_shorten(header)}).",
            header=header,
        )
    chosen = forced or detect_preset(header)
    fmt = FeedFormat(
        encoding=encoding, delimiter=delimiter, header=header, columns={}, skip_records=skip, verified=verified,
        preset=chosen.name if chosen else None, overrides=dict(mapping) if mapping else None,
        forced_preset=forced.name if forced else None,
    )
    _lay_out(fmt, chosen, mapping or {})
    missing = [name for name in REQUIRED_COLUMNS if name not in fmt.columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise FeedUnusable(
            f"The required column{plural} {', '.join(repr(m) for m in missing)} {'are' if plural else 'is'} missing "
            f"(found columns: {_shorten(header)}).",
            header=header,
        )
    present = {FEED_COLUMNS[name] for name in fmt.columns} | {"currency"}
    fmt.fields = tuple(f for f in PRODUCT_FIELDS if f in present)
    return fmt


def _header_score(header: list[str], mapping: dict[str, str] | None) -> int:
    """How many of a header's cells name a feed column (a shop format's header counts them all)."""
    if mapping and any(cell in mapping for cell in header):
        return len(header)
    found = detect_preset(header)
    if found is not None and found.shape is not None:
        return len(header)
    return len({feed_column(cell) for cell in header} - {None})


def _mapped(header: list[str], mapping: dict[str, str]) -> dict[int, str]:
    """The mapping by header index: a header text matches as written, or trimmed."""
    found = {}
    for index, cell in enumerate(header):
        for text in (cell, cell.strip(), cell.replace("\ufeff", "").strip()):
            if text in mapping:
                found[index] = mapping[text]
                break
    return found


def _lay_out(fmt: FeedFormat, preset: Preset | None, mapping: dict[str, str]) -> None:
    """Fill fmt's columns, group, derived values and mapping from the preset and the mapping asked for."""
    by_index = _mapped(fmt.header, mapping)
    ignored = {index for index, target in by_index.items() if not target}
    values: dict[str, Expr] = {}
    skip = None
    if preset is not None and preset.shape is not None:
        shape = preset.shape(Columns(fmt.header, ignored), len(fmt.header))
        values = {name: expr for name, expr in shape.values.items() if expr is not None}
        fmt.group, skip = shape.group, shape.skip
        fmt.skip_reason = preset.skip_reason
        fmt.notes = {index: note for index, note in shape.notes.items() if index not in by_index}
    else:
        values = {name: Col(index) for name, index in _generic_columns(fmt.header, ignored).items()}
        period = _sale_period_column(fmt.header, ignored)
        if period is not None and "sale_price" in values:
            # Google's sale price applies while its sale_price_effective_date runs, on the import's day.
            values["sale_price"] = InEffect(values["sale_price"], Col(period), timezone.localdate().isoformat())
    for index, target in by_index.items():
        if target and target in FEED_COLUMNS:
            values[target] = Col(index)
    # A column that is a field as it is names that field ("Variant Inventory Qty" is the quantity,
    # though the availability is told from it too); any other, the first field derived from it.
    for name in FEED_COLUMNS:
        if isinstance(values.get(name), Col) and values[name].index < len(fmt.header):
            fmt.sources.setdefault(values[name].index, name)
    for name in FEED_COLUMNS:
        if name in values:
            for source in sorted(_header_sources(values[name], fmt)):
                fmt.sources.setdefault(source, name)
    if skip is not None and "id" in values:
        values["id"] = Unless(skip, values["id"])
    base = fmt.grouped_width
    derived: list[Expr] = []
    for name in FEED_COLUMNS:
        expr = values.get(name)
        if expr is None:
            continue
        if isinstance(expr, Col) and expr.index < base:
            fmt.columns[name] = expr.index
        else:
            fmt.columns[name] = base + len(derived)
            derived.append(expr)
    if skip is not None:
        fmt.parent_columns = frozenset(_header_sources(skip, fmt))
        fmt.skip_at = base + len(derived)
        derived.append(skip)
    fmt.derived = tuple(derived)
    fmt.mapping = {fmt.header[index]: fmt.notes.get(index, name) for index, name in sorted(fmt.sources.items())}


def _header_sources(expr: Expr, fmt: FeedFormat) -> set[int]:
    """The file's cells a value comes from (a group's value from its cell in the file)."""
    found = set()
    width = len(fmt.header)
    for index in expr.sources():
        if index < width:
            found.add(index)
        elif fmt.group is not None:
            found.add(fmt.group.fills[index - width][0])
    return found


def _generic_columns(header: list[str], ignored: set[int]) -> dict[str, int]:
    """The feed columns a header names (aliases resolved): the canonical name beats an alias
    ('title' over 'name'); otherwise the first column wins. The one exception is the key: a
    'sku' column beats 'id' and the other id aliases, since a file with both is a shop's export,
    whose id is its database's number and whose sku is the product's reference."""
    columns: dict[str, int] = {}
    canonical: dict[str, bool] = {}
    sku: int | None = None
    for index, cell in enumerate(header):
        name = feed_column(cell)
        if name is None or index in ignored:
            continue
        exact = normalise_header(cell) == name
        if name not in columns or (exact and not canonical[name]):
            columns[name], canonical[name] = index, exact
        if sku is None and normalise_header(cell) == "sku":
            sku = index
    if sku is not None:
        columns["id"] = sku
    return columns


def _sale_period_column(header: list[str], ignored: set[int]) -> int | None:
    """The column of Google's sale_price_effective_date (with or without g:), if the header has one."""
    for index, cell in enumerate(header):
        if index not in ignored and normalise_header(cell) == SALE_PERIOD_COLUMN:
            return index
    return None


def _shorten(header: list[str], limit: int = 8) -> str:
    names = [repr(c.strip()[:40]) for c in header[:limit]]
    return ", ".join(names) + (", …" if len(header) > limit else "")


class _NulDropper(io.RawIOBase):
    """A raw reader over a binary file that leaves out NUL bytes."""

    def __init__(self, binary: BinaryIO):
        self.binary = binary

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            data = self.binary.read(len(buffer))
            if not data:
                return 0
            data = data.replace(b"\x00", b"")
            if data:
                buffer[: len(data)] = data
                return len(data)


class FeedRows:
    """Iterate a feed's records as (line number, cells), streaming; ``position()`` is the bytes read."""

    def __init__(self, opener: Opener, fmt: FeedFormat):
        self.opener = opener
        self.fmt = fmt
        self._binary: BinaryIO | None = None

    def position(self) -> int:
        return self._binary.tell() if self._binary is not None else 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        records = self._records()
        if isinstance(self.fmt.group, ParentFill):
            return parented_records(records, self.fmt)
        return grouped_records(records, self.fmt) if self.fmt.group is not None else records

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        with self.opener() as binary:
            self._binary = binary
            # PostgreSQL text cannot hold NUL: a stray one is dropped. In UTF-8 and 8-bit
            # encodings a NUL byte is only ever that character, so it goes before decoding.
            wide = self.fmt.encoding.startswith(("utf-16", "utf-32"))
            source = binary if wide else io.BufferedReader(_NulDropper(binary), CHUNK_SIZE)
            text = io.TextIOWrapper(source, encoding=self.fmt.encoding, newline="")
            lines = (line.replace("\x00", "") for line in text) if wide else text
            reader = csv.reader(lines, delimiter=self.fmt.delimiter)
            skip = self.fmt.skip_records
            last_line = 0
            try:
                for record in reader:
                    start, last_line = last_line + 1, reader.line_num
                    if not record or not any(record):
                        continue
                    if skip:
                        skip -= 1
                        continue
                    yield start, record
            except csv.Error as exc:
                raise FeedUnusable(f"The file could not be read as CSV after line {last_line}: {exc}.") from None
            finally:
                self._binary = None


def grouped_records(records: Iterator[tuple[int, list[str]]], fmt: FeedFormat) -> Iterator[tuple[int, list[str]]]:
    """The records with their group's values after their cells (see GroupFill): consecutive
    records with the same key are a group; one group is held at a time."""
    group, width = fmt.group, len(fmt.header)
    held: list[tuple[int, list[str]]] = []
    key = None
    for line, cells in records:
        cells = (cells + [""] * width)[:width] if len(cells) != width else cells
        own = cells[group.key].strip()
        if held and own != key:
            yield from _filled(held, group)
            held = []
        key = own
        held.append((line, cells))
    if held:
        yield from _filled(held, group)


def parented_records(records: Iterator[tuple[int, list[str]]], fmt: FeedFormat) -> Iterator[tuple[int, list[str]]]:
    """The records with their parent's values after their cells (see ParentFill). Only the
    values of the rows that can be parents are held, by their names; the first of a name wins."""
    group, width = fmt.group, len(fmt.header)
    kind = re.compile(group.kind_pattern)
    empty = [""] * len(group.fills)
    parents: dict[str, list[str]] = {}
    for line, cells in records:
        cells = (cells + [""] * width)[:width] if len(cells) != width else cells
        named = cells[group.parent].strip()
        found = parents.get(named, empty) if named else empty
        if kind.search(cells[group.kind].strip().lower()):
            own = [cells[index].strip() for index, _ in group.fills]
            for index, prefix in group.keys:
                if key := cells[index].strip():
                    parents.setdefault(prefix + key, own)
        yield line, cells + found


def _filled(held: list[tuple[int, list[str]]], group: GroupFill) -> Iterator[tuple[int, list[str]]]:
    values = []
    for index, mode in group.fills:
        texts = [t for t in (cells[index].strip() for _, cells in held) if t]
        if mode in ("all", "tail"):
            values.append(",".join(texts if mode == "all" else texts[1:]))
        else:
            values.append(texts[0] if texts else "")
    for line, cells in held:
        own = [cells[index].strip() for index, _ in group.fills]
        yield line, cells + [
            mine if mode == "first" and mine else value
            for mine, value, (_, mode) in zip(own, values, group.fills, strict=True)
        ]


class _Spellings(dict):
    """The availability (or condition) spellings a feed used so far, read: a feed repeats a handful,
    so each is read once (up to _KNOWN_SPELLINGS of them); a spelling that cannot be read raises."""

    def __init__(self, read: Callable[[str], str]):
        super().__init__()
        self.read = read

    def __missing__(self, text: str) -> str:
        value = self.read(text)
        if len(self) < _KNOWN_SPELLINGS:
            self[text] = value
        return value


def _length_limits(at: dict[str, int]) -> tuple[list[tuple[int, str, int]], Callable, tuple[int, ...]]:
    """The limited fields of a row (position, name, limit), and what compares their lengths at once.

    One C-level pass compares every limited value's length with its limit (the sku's twice, so
    that the picker always returns a tuple); the slow loop only runs to name the field of a row
    that is too long.
    """
    limits = [(at[name], name, limit) for name, limit in MAX_LENGTH.items() if name in at and name != "currency"]
    pick_limited = operator.itemgetter(*[p for p, _, _ in limits], 0)
    limit_values = (*[lim for _, _, lim in limits], MAX_LENGTH["sku"])
    return limits, pick_limited, limit_values


def _cell_picker(fmt: FeedFormat) -> tuple[Callable[[list[str]], tuple], int]:
    """Pick a row's cells in fmt.fields order (the price cell twice: price and currency), and the
    width a row must have for every picked cell to exist."""
    index = {FEED_COLUMNS[name]: i for name, i in fmt.columns.items()}
    index["currency"] = index["price"]  # filled from the price cell
    return operator.itemgetter(*[index[name] for name in fmt.fields]), max(fmt.columns.values()) + 1


def _too_long_cell(cells: list[str]) -> None:
    """Raise FeedValueError when a value of the row is longer than CELL_LIMIT."""
    if cells and max(map(len, cells)) > CELL_LIMIT:
        raise FeedValueError(f"a value is longer than {CELL_LIMIT:,} characters")


def _sale_price(text: str, currency: str) -> Decimal:
    try:
        return parse_price(text, currency)[0]
    except FeedValueError as exc:
        raise FeedValueError(f"sale_price: {exc}") from None


def _refuse_too_long(values: list, limits: list[tuple[int, str, int]]) -> None:
    """Raise FeedValueError naming the first value longer than its field allows."""
    for position, name, limit in limits:
        if len(values[position]) > limit:
            raise FeedValueError(f"{name} is longer than {limit} characters")


def row_parser(fmt: FeedFormat) -> Callable[[list[str]], tuple]:
    """Return a function turning a row's cells into Product values (fmt.fields order); it raises FeedValueError."""
    pick, width = _cell_picker(fmt)
    padding = [""] * width
    at = {name: position for position, name in enumerate(fmt.fields)}
    price_at, currency_at = at["price"], at["currency"]
    sale_at, quantity_at = at.get("sale_price"), at.get("quantity")
    availability_at, condition_at = at.get("availability"), at.get("condition")
    limits, pick_limited, limit_values = _length_limits(at)
    too_long = operator.gt
    # The common "19.99 EUR" is read here without a call; anything else goes to parse_price.
    simple_price = SIMPLE_PRICE_RE.fullmatch
    availabilities, conditions = _Spellings(parse_availability), _Spellings(parse_condition)
    default_currency = fmt.currency
    extend = fmt.extend if fmt.derived else None
    skip_at, skip_reason = fmt.skip_at, fmt.skip_reason

    def parse(cells: list[str]) -> tuple:
        _too_long_cell(cells)
        if extend is not None:
            cells = extend(list(cells))
            if skip_at is not None and cells[skip_at] == "1":
                raise SkipRow(skip_reason)
        elif len(cells) < width:
            cells = (cells + padding)[:width]
        out = list(map(str.strip, pick(cells)))
        # Cells our export protected against spreadsheet formulas ("'=...") come back as they
        # were; one C-level join finds the rare row that has one.
        if "\x00'" in "\x00".join(out) or out[0][:1] == ESCAPE_PREFIX:
            out = list(map(restore_cell, out))
        if not out[0]:
            raise FeedValueError("empty sku (id)")
        if not out[1]:
            raise FeedValueError("empty title")
        price = out[price_at]
        if not price:
            raise FeedValueError("missing price")
        match = simple_price(price)
        if match:
            out[price_at], out[currency_at] = Decimal(match[1]), match[2]
        else:
            out[price_at], out[currency_at] = parse_price(price, default_currency)
        if sale_at is not None:
            sale = out[sale_at]
            if not sale:
                out[sale_at] = None
            elif match := simple_price(sale):
                out[sale_at] = Decimal(match[1])
            else:
                out[sale_at] = _sale_price(sale, out[currency_at])
        if quantity_at is not None:
            quantity = out[quantity_at]
            out[quantity_at] = (
                int(quantity) if quantity.isdigit() and quantity.isascii() and len(quantity) < 10 else parse_quantity(quantity)
            )
        if availability_at is not None:
            out[availability_at] = availabilities[out[availability_at]]
        if condition_at is not None:
            out[condition_at] = conditions[out[condition_at]]
        if any(map(too_long, map(len, pick_limited(out)), limit_values)):
            _refuse_too_long(out, limits)
        return tuple(out)

    return parse
