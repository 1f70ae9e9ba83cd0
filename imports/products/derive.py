"""Values a preset derives from a row's cells, written once for both readers: Python (``py``) and SQL (``sql``).

A shop export does not always hold a feed column in one cell as it is: WooCommerce lists its
images in one cell, Shopify's price is a sale price when a higher compare-at price is set, a
stock flag reads ``1``/``0``. Each expression computes such a value from the cells of a row; the
PostgreSQL reader computes the same value in SQL, so the staged path converts the row itself
(``checks`` name what a record must satisfy for SQL to convert it; any other goes to Python).
Every value is trimmed as ``str.strip()`` trims it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from wizamart.marketplace.feed import ESCAPE_PREFIX, FORMULA_PREFIXES, FeedValueError, parse_price

# The SQL of a cell's trimmed text, given its index; and the SQL of the characters str.strip() removes.
CellSql = Callable[[int], str]
WS = "%(ws)s"

# A number as SQL compares it, with the currency a feed may add ("19.99", "19.99 EUR").
PLAIN_AMOUNT = r"^[0-9]{1,10}(\.[0-9]{1,2})?( [A-Z]{3})?$"
_PLAIN_AMOUNT_RE = re.compile(PLAIN_AMOUNT)
# A barcode a spreadsheet turned into a number in scientific notation ("4.00638E+12"): its digits are lost.
MANGLED_NUMBER = r"^[0-9]+([.,][0-9]+)?[eE]\+?[0-9]+$"
_MANGLED_NUMBER_RE = re.compile(MANGLED_NUMBER)


# The values shops usually write in their flag, type and policy cells, all printable ASCII: SQL
# finds a value in this list before it runs a regular expression (about 0.5 µs a record) on any other.
USUAL_ASCII = (
    "", "0", "1", "-1", "yes", "no", "true", "false", "simple", "variable", "variation", "grouped", "external",
    "backorder", "onbackorder", "instock", "outofstock", "continue", "deny", "draft", "active", "archived",
)
_PRINTABLE_ASCII = r"^[ -~]*$"
assert all(re.match(_PRINTABLE_ASCII, value) for value in USUAL_ASCII)


def ascii_check(value: str) -> str:
    """SQL: whether ``value`` (SQL) is printable ASCII, where lower() agrees with str.lower()."""
    usual = ", ".join(f"'{value}'" for value in USUAL_ASCII)
    return f"({value} IN ({usual}) OR {value} ~ '{_PRINTABLE_ASCII}')"


def quote(text: str) -> str:
    """A SQL string literal (the texts quoted are the presets' own constants)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


class Expr:
    """A value derived from a row's cells."""

    def py(self, cells: list[str]) -> str:
        raise NotImplementedError

    def sql(self, cell: CellSql) -> str:
        raise NotImplementedError

    def checks(self, cell: CellSql) -> list[str]:
        """SQL conditions under which SQL derives the value as Python does (none: always)."""
        return []

    def sources(self) -> set[int]:
        raise NotImplementedError


@dataclass(frozen=True)
class Col(Expr):
    """A cell as it is (trimmed)."""

    index: int

    def py(self, cells):
        return cells[self.index].strip() if self.index < len(cells) else ""

    def sql(self, cell):
        return cell(self.index)

    def sources(self):
        return {self.index}


@dataclass(frozen=True)
class Coalesce(Expr):
    """The first value that is not empty: a shop's sku, else its own id."""

    parts: tuple[Expr, ...]

    def py(self, cells):
        for part in self.parts:
            value = part.py(cells)
            if value:
                return value
        return ""

    def sql(self, cell):
        return "COALESCE(" + ", ".join(f"NULLIF({p.sql(cell)}, '')" for p in self.parts) + ", '')"

    def checks(self, cell):
        return [c for p in self.parts for c in p.checks(cell)]

    def sources(self):
        return set().union(*(p.sources() for p in self.parts))


@dataclass(frozen=True)
class Joined(Expr):
    """The values that are not empty (nor one of ``ignore``), joined: a Shopify handle and its options."""

    parts: tuple[Expr, ...]
    sep: str = "-"
    ignore: tuple[str, ...] = ()

    def py(self, cells):
        return self.sep.join(v for v in (p.py(cells) for p in self.parts) if v and v not in self.ignore)

    def sql(self, cell):
        def kept(part: Expr) -> str:
            text = f"NULLIF({part.sql(cell)}, '')"
            for word in self.ignore:
                text = f"NULLIF({text}, {quote(word)})"
            return text

        return f"concat_ws({quote(self.sep)}, {', '.join(kept(p) for p in self.parts)})"

    def sources(self):
        return set().union(*(p.sources() for p in self.parts))


# WooCommerce's exporter writes a list's items separated by ", ", a comma inside an item as "\,".
_ESCAPED_COMMA = "\\,"
_UNESCAPED_COMMA_RE = re.compile(r"(?<!\\),")


def _items(text: str, sep: str, escaped: bool = False) -> list[str]:
    if escaped and _ESCAPED_COMMA in text:
        parts = (part.strip().replace(_ESCAPED_COMMA, ",") for part in _UNESCAPED_COMMA_RE.split(text))
        return [item for item in parts if item]
    return [item for item in (part.strip() for part in text.split(sep)) if item]


def _escaped_check(list_sql: str) -> str:
    r"""A list cell without an escaped comma ("\,"): SQL splits it as Python does (any other goes to Python)."""
    return f"strpos({list_sql}, {quote(_ESCAPED_COMMA)}) = 0"


def _split_sql(list_sql: str, sep: str) -> str:
    """The non-empty items of a list cell as an array, trimmed of spaces: what _items() gives when the
    cell holds no whitespace but spaces (see _plain_list_check).

    Usually no space comes before a separator and at most one after it ("a.jpg, b.jpg"): then the
    separator and its space are one separator, and string_to_array() splits at a fraction of the
    cost of a regular expression; any other list is split by one."""
    spaced = f" *{re.escape(sep)} *"
    slow = f"array_remove(regexp_split_to_array(btrim({list_sql}, ' '), {quote(spaced)}), '')"
    joined = f"btrim(replace({list_sql}, {quote(sep + ' ')}, {quote(sep)}), ' ')"
    fast = f"array_remove(string_to_array({joined}, {quote(sep)}), '')"
    usual = f"strpos({list_sql}, {quote(' ' + sep)}) = 0 AND strpos({list_sql}, {quote(sep + '  ')}) = 0"
    return f"(CASE WHEN {usual} THEN {fast} ELSE {slow} END)"


def _plain_list_check(list_sql: str) -> str:
    """A list cell SQL splits as Python does: no whitespace in it but spaces."""
    return f"{list_sql} !~ %(ws_not_space)s"


@dataclass(frozen=True)
class First(Expr):
    """The first item of a list cell: the main image of "a.jpg, b.jpg"; with ``escaped``, a comma
    written "\\," is part of its item (WooCommerce's "Bags\\, Wallets, Shoes")."""

    part: Expr
    sep: str = ","
    escaped: bool = False

    def py(self, cells):
        items = _items(self.part.py(cells), self.sep, self.escaped)
        return items[0] if items else ""

    def sql(self, cell):
        value = self.part.sql(cell)
        # Usually the list does not start with its separator: the first item is the text before it.
        fast = f"rtrim(split_part(btrim({value}, ' '), {quote(self.sep)}, 1), ' ')"
        slow = f"COALESCE(({_split_sql(value, self.sep)})[1], '')"
        return f"CASE WHEN left(btrim({value}, ' '), 1) <> {quote(self.sep)} THEN {fast} ELSE {slow} END"

    def checks(self, cell):
        escaped = [_escaped_check(self.part.sql(cell))] if self.escaped else []
        return self.part.checks(cell) + [_plain_list_check(self.part.sql(cell))] + escaped

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class Rest(Expr):
    """The items of a list cell after the first, comma separated (additional images); with
    ``without``, every item but that value instead; ``escaped`` as for First."""

    part: Expr
    sep: str = ","
    without: Expr | None = None
    escaped: bool = False

    def py(self, cells):
        items = _items(self.part.py(cells), self.sep, self.escaped)
        if self.without is None:
            return ",".join(items[1:])
        other = self.without.py(cells)
        return ",".join(item for item in items if item != other)

    def sql(self, cell):
        items = _split_sql(self.part.sql(cell), self.sep)
        if self.without is None:
            return f"array_to_string(({items})[2:], ',')"
        return f"array_to_string(array_remove({items}, {self.without.sql(cell)}), ',')"

    def checks(self, cell):
        own = self.part.checks(cell) + [_plain_list_check(self.part.sql(cell))]
        own += [_escaped_check(self.part.sql(cell))] if self.escaped else []
        return own + (self.without.checks(cell) if self.without else [])

    def sources(self):
        return self.part.sources() | (self.without.sources() if self.without else set())


# WooCommerce's default category, which a product is in when it is in no other: no category at all
# (its name in English, British English, French, German).
DEFAULT_CATEGORIES = ("Uncategorized", "Uncategorised", "Non classé", "Unkategorisiert")


@dataclass(frozen=True)
class DeepestPath(Expr):
    """The most specific of a list of category paths (WooCommerce's "Clothing, Clothing > T-shirts"
    gives "Clothing > T-shirts"): the item with the most ">" levels, the first of those; an item
    that is one of ``none`` (the shop's default category, which means no category) is not one.
    "\\," is a comma inside an item, as for First with ``escaped``."""

    part: Expr
    none: tuple[str, ...] = DEFAULT_CATEGORIES

    def py(self, cells):
        items = [item for item in _items(self.part.py(cells), ",", escaped=True) if item not in self.none]
        return max(items, key=lambda item: item.count(">")) if items else ""

    def sql(self, cell):
        value = self.part.sql(cell)
        none = ", ".join(quote(n) for n in self.none)
        # Usually one category: no list to split.
        one = f"CASE WHEN btrim({value}, ' ') IN ({none}) THEN '' ELSE btrim({value}, ' ') END"
        levels = "length(t.item) - length(replace(t.item, '>', ''))"
        deepest = (
            f"COALESCE((SELECT t.item FROM unnest({_split_sql(value, ',')}) WITH ORDINALITY AS t(item, n) "
            f"WHERE t.item NOT IN ({none}) ORDER BY {levels} DESC, t.n LIMIT 1), '')"
        )
        return f"CASE WHEN strpos({value}, ',') = 0 THEN {one} ELSE {deepest} END"

    def checks(self, cell):
        value = self.part.sql(cell)
        return self.part.checks(cell) + [_plain_list_check(value), _escaped_check(value)]

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class Relisted(Expr):
    """A list cell's non-empty items, trimmed, joined with another separator: Shopify's list metafield
    "black; silver" as Google's colours "black/silver"."""

    part: Expr
    sep: str = ";"
    joiner: str = "/"

    def py(self, cells):
        return self.joiner.join(_items(self.part.py(cells), self.sep))

    def sql(self, cell):
        value = self.part.sql(cell)
        # Usually one item: nothing to split.
        listed = f"array_to_string({_split_sql(value, self.sep)}, {quote(self.joiner)})"
        return f"CASE WHEN strpos({value}, {quote(self.sep)}) = 0 THEN {value} ELSE {listed} END"

    def checks(self, cell):
        return self.part.checks(cell) + [_plain_list_check(self.part.sql(cell))]

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class Unescaped(Expr):
    """A value of a WooCommerce list written alone (a variation's attribute value): "\\," is a comma."""

    part: Expr

    def py(self, cells):
        return self.part.py(cells).replace(_ESCAPED_COMMA, ",")

    def sql(self, cell):
        return f"replace({self.part.sql(cell)}, {quote(_ESCAPED_COMMA)}, ',')"

    def checks(self, cell):
        return self.part.checks(cell)

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class Flag(Expr):
    """A shop's flag as a feed value ("1" -> "in stock"); other values are kept, for the feed's own reading."""

    part: Expr
    values: tuple[tuple[str, str], ...]

    def py(self, cells):
        text = self.part.py(cells)
        return dict(self.values).get(text.lower(), text)

    def sql(self, cell):
        value = self.part.sql(cell)
        whens = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in self.values)
        return f"CASE lower({value}) {whens} ELSE {value} END"

    def checks(self, cell):
        # lower() agrees with str.lower() on ASCII; anything else is read in Python.
        return self.part.checks(cell) + [ascii_check(self.part.sql(cell))]

    def sources(self):
        return self.part.sources()


# Zero written as a number ("0", "0.0", ".00"): Shopify's weight of a variant nobody weighed.
ZERO_NUMBER = r"^(0+(\.0*)?|\.0+)$"
_ZERO_NUMBER_RE = re.compile(ZERO_NUMBER)


@dataclass(frozen=True)
class WithUnit(Expr):
    """A number whose unit the header names ("Weight (kg)": "1.5" -> "1.5 kg"); with ``zero_is_none``,
    a zero is no value (a shop that writes 0 for a weight never entered)."""

    part: Expr
    unit: str
    zero_is_none: bool = False

    def py(self, cells):
        text = self.part.py(cells)
        if not text or (self.zero_is_none and _ZERO_NUMBER_RE.match(text)):
            return ""
        # Half a pound is often written ".5": read everywhere as "0.5".
        return f"{'0' if text.startswith('.') else ''}{text} {self.unit}"

    def sql(self, cell):
        value = self.part.sql(cell)
        number = f"CASE WHEN left({value}, 1) = '.' THEN '0' || {value} ELSE {value} END"
        empty = f"{value} = ''" + (f" OR {value} ~ {quote(ZERO_NUMBER)}" if self.zero_is_none else "")
        return f"CASE WHEN {empty} THEN '' ELSE {number} || {quote(' ' + self.unit)} END"

    def sources(self):
        return self.part.sources()


# A line break as WooCommerce's exporter writes it in a description (the two characters "\n"), and a
# "\n" the text itself held (written "\\n").
_ESCAPED_BREAK, _ESCAPED_BACKSLASH_N = "\\n", "\\\\n"


@dataclass(frozen=True)
class LineBreaks(Expr):
    r"""A description as WooCommerce's exporter writes it, its line breaks as "\n" (and a "\n" the text
    held as "\\n"), read back as its importer reads it: each "\n" a line break."""

    part: Expr

    def py(self, cells):
        text = self.part.py(cells)
        if _ESCAPED_BREAK not in text:
            return text
        pieces = text.split(_ESCAPED_BACKSLASH_N)
        return _ESCAPED_BREAK.join(piece.replace(_ESCAPED_BREAK, "\n") for piece in pieces).strip()

    def sql(self, cell):
        # Most texts hold no "\n": one strpos() spares them the replace() and btrim(), as in py().
        value = self.part.sql(cell)
        return (
            f"CASE WHEN strpos({value}, {quote(_ESCAPED_BREAK)}) = 0 THEN {value} "
            f"ELSE btrim(replace({value}, {quote(_ESCAPED_BREAK)}, chr(10)), {WS}) END"
        )

    def checks(self, cell):
        # A text that held "\n" itself is read in Python ("\\n" holds "\n": the second search
        # runs only on the texts the first one finds).
        value = self.part.sql(cell)
        return self.part.checks(cell) + [
            f"(strpos({value}, {quote(_ESCAPED_BREAK)}) = 0 OR strpos({value}, {quote(_ESCAPED_BACKSLASH_N)}) = 0)"
        ]

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class FromParent(Expr):
    """A cell that may say its value is its parent row's (WooCommerce's exporter writes a variation's
    Stock as "parent" when its variable product manages the stock): then ``parent``'s value (empty
    without a parent), else its own."""

    part: Expr
    word: str
    parent: Expr | None = None

    def py(self, cells):
        text = self.part.py(cells)
        if text != self.word:
            return text
        return self.parent.py(cells) if self.parent is not None else ""

    def sql(self, cell):
        value = self.part.sql(cell)
        other = self.parent.sql(cell) if self.parent is not None else "''"
        return f"CASE WHEN {value} = {quote(self.word)} THEN {other} ELSE {value} END"

    def checks(self, cell):
        return self.part.checks(cell) + (self.parent.checks(cell) if self.parent is not None else [])

    def sources(self):
        return self.part.sources() | (self.parent.sources() if self.parent is not None else set())


@dataclass(frozen=True)
class Barcode(Expr):
    """A barcode, left empty when a spreadsheet turned it into "4.00638E+12" (its digits are lost),
    without the apostrophe typed before digits to keep them as text in a spreadsheet ("'0123")."""

    part: Expr

    def py(self, cells):
        text = self.part.py(cells)
        if _MANGLED_NUMBER_RE.match(text):
            return ""
        return text[1:].strip() if text.startswith("'") else text

    def sql(self, cell):
        value = self.part.sql(cell)
        unquoted = f"CASE WHEN left({value}, 1) = {quote(chr(39))} THEN btrim(substr({value}, 2), {WS}) ELSE {value} END"
        return f"CASE WHEN {value} ~ {quote(MANGLED_NUMBER)} THEN '' ELSE {unquoted} END"

    def sources(self):
        return self.part.sources()


def _amount(text: str) -> Decimal | None:
    try:
        return parse_price(text)[0]
    except FeedValueError:
        return None


@dataclass(frozen=True)
class CompareAtPrice(Expr):
    """Shopify's pair: a compare-at price above the price makes the price a sale price of it.

    ``role`` "price": the compare-at price then, else the price; "sale": the price then, else empty.
    """

    price: Expr
    compare_at: Expr
    role: str

    def py(self, cells):
        price, compare = self.price.py(cells), self.compare_at.py(cells)
        low, high = _amount(price), _amount(compare) if compare else None
        on_sale = low is not None and high is not None and high > low
        if self.role == "price":
            return compare if on_sale else price
        return price if on_sale else ""

    def sql(self, cell):
        price, compare = self.price.sql(cell), self.compare_at.sql(cell)
        # Compared only when both are plain (the checks send any other record to Python).
        # Most rows have no compare-at price: the empty one is ruled out before any regular expression.
        on_sale = (
            f"CASE WHEN {compare} <> '' AND {compare} ~ {quote(PLAIN_AMOUNT)} AND {price} ~ {quote(PLAIN_AMOUNT)} THEN "
            f"split_part({compare}, ' ', 1)::numeric > split_part({price}, ' ', 1)::numeric ELSE FALSE END"
        )
        if self.role == "price":
            return f"CASE WHEN {on_sale} THEN {compare} ELSE {price} END"
        return f"CASE WHEN {on_sale} THEN {price} ELSE '' END"

    def checks(self, cell):
        compare = self.compare_at.sql(cell)
        return [f"({compare} = '' OR {compare} ~ {quote(PLAIN_AMOUNT)})"]

    def sources(self):
        return self.price.sources() | self.compare_at.sources()


@dataclass(frozen=True)
class LowerPrice(Expr):
    """A special price that is a sale: below the price (Magento's final price is the lower of the
    two, so a special price at or above the price changes nothing); empty otherwise. A special price
    that is not a number stays as written, for the row to be rejected with it."""

    special: Expr
    price: Expr

    def py(self, cells):
        special = self.special.py(cells)
        if not special:
            return ""
        low, price = _amount(special), _amount(self.price.py(cells))
        if low is None or price is None:
            return special
        return special if low < price else ""

    def sql(self, cell):
        special, price = self.special.sql(cell), self.price.sql(cell)
        # Compared only when both are plain (the checks send any other record to Python).
        return (
            f"CASE WHEN {special} = '' THEN '' WHEN {special} ~ {quote(PLAIN_AMOUNT)} AND {price} ~ {quote(PLAIN_AMOUNT)} "
            f"THEN CASE WHEN split_part({special}, ' ', 1)::numeric < split_part({price}, ' ', 1)::numeric "
            f"THEN {special} ELSE '' END ELSE {special} END"
        )

    def checks(self, cell):
        special, price = self.special.sql(cell), self.price.sql(cell)
        return [f"({special} = '' OR ({special} ~ {quote(PLAIN_AMOUNT)} AND {price} ~ {quote(PLAIN_AMOUNT)}))"]

    def sources(self):
        return self.special.sources() | self.price.sources()


def kinds_pattern(kinds: tuple[str, ...]) -> str:
    """The regular expression a lower-cased type list ("simple, variable") matches when one of its
    items is one of ``kinds``."""
    return "(^|,) *(" + "|".join(re.escape(k) for k in kinds) + ") *(,|$)"


def kind_in_sql(kind_sql: str, kinds: tuple[str, ...]) -> str:
    """Whether the type list ``kind_sql`` (SQL) holds one of ``kinds``, in any case. The regular
    expression runs only on a type that holds one of the words (strpos is a fraction of its cost,
    and most rows hold none of them)."""
    kind = f"lower({kind_sql})"
    holds = " OR ".join(f"strpos({kind}, {quote(k)}) > 0" for k in kinds)
    return f"CASE WHEN {holds} THEN {kind} ~ {quote(kinds_pattern(kinds))} ELSE FALSE END"


@dataclass(frozen=True)
class ParentRow(Expr):
    """"1" for a row that is not a product of its own: no price, and (with ``kinds``) a type
    among ``kinds`` (WooCommerce's variable and grouped parents), or (with ``marks``) none of
    those cells filled (a Shopify row that only adds an image); a type among ``always``, price
    or not (a Magento configurable product: only its simple products are sold); or any
    ``other`` cell filled (a Magento store view's row)."""

    price: Expr
    kind: Expr | None = None
    kinds: tuple[str, ...] = ()
    marks: tuple[Expr, ...] = ()
    other: tuple[Expr, ...] = ()
    always: tuple[str, ...] = ()

    def py(self, cells):
        if any(o.py(cells) for o in self.other):
            return "1"
        types = {t.strip().lower() for t in self.kind.py(cells).split(",")} if self.kind is not None else set()
        if types & set(self.always):
            return "1"
        if self.price.py(cells):
            return ""
        if self.kind is not None:
            return "1" if types & set(self.kinds) else ""
        return "" if any(m.py(cells) for m in self.marks) else "1"

    def _kind_in(self, kinds: tuple[str, ...], cell: CellSql) -> str:
        # The kind is ASCII (see checks): its items are trimmed of spaces only.
        return kind_in_sql(self.kind.sql(cell), kinds)

    def sql(self, cell):
        conditions = [f"{o.sql(cell)} <> ''" for o in self.other]
        if self.kind is not None and self.always:
            conditions.append(self._kind_in(self.always, cell))
        parent = f"{self.price.sql(cell)} = ''"
        if self.kind is not None:
            parent += f" AND {self._kind_in(self.kinds, cell)}"
        else:
            parent += "".join(f" AND {m.sql(cell)} = ''" for m in self.marks)
        conditions.append(f"({parent})")
        return f"CASE WHEN {' OR '.join(conditions)} THEN '1' ELSE '' END"

    def checks(self, cell):
        checks = []
        if self.kind is not None:
            checks.append(ascii_check(self.kind.sql(cell)))
        return checks

    def sources(self):
        found = self.price.sources() | (self.kind.sources() if self.kind else set())
        return found.union(*(m.sources() for m in self.marks), *(o.sources() for o in self.other))


@dataclass(frozen=True)
class Unless(Expr):
    """A value, empty on a row that ``skip`` marks ("1"): a parent row's sku is not one of the feed's."""

    skip: Expr
    part: Expr

    def py(self, cells):
        return "" if self.skip.py(cells) == "1" else self.part.py(cells)

    def sql(self, cell):
        return f"CASE WHEN {self.skip.sql(cell)} = '1' THEN '' ELSE {self.part.sql(cell)} END"

    def checks(self, cell):
        return self.skip.checks(cell) + self.part.checks(cell)

    def sources(self):
        return self.skip.sources() | self.part.sources()


@dataclass(frozen=True)
class OtherImages(Expr):
    """A variant's additional images: its product's images after the first, or, when the variant
    has an image of its own, all of the product's images but that one."""

    own: Expr
    tail: Expr
    every: Expr

    def py(self, cells):
        own = self.own.py(cells)
        if not own:
            return self.tail.py(cells)
        return ",".join(item for item in _items(self.every.py(cells), ",") if item != own)

    def sql(self, cell):
        own, every = self.own.sql(cell), self.every.sql(cell)
        others = f"array_to_string(array_remove({_split_sql(every, ',')}, {own}), ',')"
        return f"CASE WHEN {own} = '' THEN {self.tail.sql(cell)} ELSE {others} END"

    def checks(self, cell):
        return [f"({self.own.sql(cell)} = '' OR {_plain_list_check(self.every.sql(cell))})"]

    def sources(self):
        return self.own.sources() | self.tail.sources() | self.every.sources()


# A whole number of items as both readers compare it: digits, maybe negative (oversold), no more than 18.
WHOLE_NUMBER = r"^-?[0-9]{1,18}$"
_WHOLE_NUMBER_RE = re.compile(WHOLE_NUMBER)


@dataclass(frozen=True)
class TrackedStock(Expr):
    """Availability from a stock count: above zero in stock, else out of stock, or backorder when
    the ``policy`` cell is one of ``backorder`` (the shop sells on when none is left). With a
    ``tracker`` cell (Shopify's variant), only a stock someone tracks counts: an untracked one is
    always available, left empty (the feed's default, in stock). A quantity that is no whole
    number is left to the quantity's own reading."""

    quantity: Expr
    policy: Expr | None = None
    backorder: tuple[str, ...] = ()
    tracker: Expr | None = None

    def py(self, cells):
        quantity = self.quantity.py(cells)
        if (self.tracker is not None and not self.tracker.py(cells)) or not _WHOLE_NUMBER_RE.match(quantity):
            return ""
        if int(quantity) > 0:
            return "in stock"
        policy = self.policy.py(cells).lower() if self.policy is not None else ""
        return "backorder" if policy in self.backorder else "out of stock"

    def sql(self, cell):
        quantity = self.quantity.sql(cell)
        untracked = f"{self.tracker.sql(cell)} = '' OR " if self.tracker is not None else ""
        if self.policy is not None and self.backorder:
            allowed = ", ".join(quote(word) for word in self.backorder)
            backorder = f"WHEN lower({self.policy.sql(cell)}) IN ({allowed}) THEN 'backorder' "
        else:
            backorder = ""
        return (
            f"CASE WHEN {untracked}{quantity} !~ {quote(WHOLE_NUMBER)} THEN '' "
            f"WHEN {quantity}::numeric > 0 THEN 'in stock' {backorder}ELSE 'out of stock' END"
        )

    def checks(self, cell):
        # lower() agrees with str.lower() on ASCII; anything else is read in Python.
        return [ascii_check(self.policy.sql(cell))] if self.policy is not None and self.backorder else []

    def sources(self):
        found = self.quantity.sources()
        for part in (self.policy, self.tracker):
            found |= part.sources() if part is not None else set()
        return found


@dataclass(frozen=True)
class TrackedQuantity(Expr):
    """A stock count only where someone tracks it: empty when the ``tracker`` cell is (a Shopify
    variant whose inventory Shopify does not track is always available; the quantity it still
    writes, often 0, counts nothing)."""

    quantity: Expr
    tracker: Expr

    def py(self, cells):
        return self.quantity.py(cells) if self.tracker.py(cells) else ""

    def sql(self, cell):
        return f"CASE WHEN {self.tracker.sql(cell)} = '' THEN '' ELSE {self.quantity.sql(cell)} END"

    def checks(self, cell):
        return self.quantity.checks(cell) + self.tracker.checks(cell)

    def sources(self):
        return self.quantity.sources() | self.tracker.sources()


# A stock of none or less, as a whole number, maybe with zero decimals as Magento writes it ("0.0000", "-2.0000").
NONE_LEFT = r"^(-[0-9]{1,18}|0{1,18})(\.0{1,18})?$"
_NONE_LEFT_RE = re.compile(NONE_LEFT)


@dataclass(frozen=True)
class OnBackorder(Expr):
    """A stock flag's availability (``flag``), "backorder" instead of "in stock" where the shop
    sells on with none left: ``quantity`` is a whole number at or below zero and the product's own
    backorder setting is one of ``allowed`` (Magento's ``allow_backorders`` 1 or 2), unless
    ``use_config`` is "1" (the store's setting applies then, which the file does not carry, and
    Magento's default is no backorders). A stock nobody manages (``manage`` not "1" where its
    ``use_config_manage`` is not "1"; the store's default manages it) has no backorders: it stays
    in stock. Any other value is the flag's."""

    flag: Expr
    quantity: Expr
    backorders: Expr
    use_config: Expr | None = None
    manage: Expr | None = None
    use_config_manage: Expr | None = None
    allowed: tuple[str, ...] = ("1", "2")

    def _settings(self) -> tuple[Expr, ...]:
        return tuple(p for p in (self.use_config, self.manage, self.use_config_manage) if p is not None)

    def py(self, cells):
        value = self.flag.py(cells)
        if value != "in stock" or not _NONE_LEFT_RE.fullmatch(self.quantity.py(cells)):
            return value
        if self.backorders.py(cells) not in self.allowed:
            return value
        if self.use_config is not None and self.use_config.py(cells) == "1":
            return value
        if self.manage is not None and self.manage.py(cells) != "1":
            if self.use_config_manage is None or self.use_config_manage.py(cells) != "1":
                return value
        return "backorder"

    def sql(self, cell):
        value = self.flag.sql(cell)
        conditions = [
            f"({value}) = 'in stock'",
            f"{self.quantity.sql(cell)} ~ {quote(NONE_LEFT)}",
            f"{self.backorders.sql(cell)} IN ({', '.join(quote(a) for a in self.allowed)})",
        ]
        if self.use_config is not None:
            conditions.append(f"{self.use_config.sql(cell)} <> '1'")
        if self.manage is not None:
            managed = f"{self.manage.sql(cell)} = '1'"
            if self.use_config_manage is not None:
                managed += f" OR {self.use_config_manage.sql(cell)} = '1'"
            conditions.append(f"({managed})")
        return f"CASE WHEN {' AND '.join(conditions)} THEN 'backorder' ELSE {value} END"

    def checks(self, cell):
        # The quantity and the settings are compared as written; the flag is lowered (see Flag).
        parts = (self.quantity, self.backorders, *self._settings())
        return self.flag.checks(cell) + [c for part in parts for c in part.checks(cell)]

    def sources(self):
        found = self.flag.sources() | self.quantity.sources() | self.backorders.sources()
        return found.union(*(part.sources() for part in self._settings()))


@dataclass(frozen=True)
class Hidden(Expr):
    """"1" for a product its shop does not sell: its cell holds one of ``values``, in any case
    (a draft or private product, a disabled one), also behind the apostrophe that guards a value
    starting like a formula (WooCommerce's exporter writes a draft's "-1" as "'-1")."""

    part: Expr
    values: tuple[str, ...]

    @cached_property
    def spellings(self) -> tuple[str, ...]:
        guarded = tuple(ESCAPE_PREFIX + v for v in self.values if v.startswith(FORMULA_PREFIXES))
        return self.values + guarded

    def py(self, cells):
        return "1" if self.part.py(cells).lower() in self.spellings else ""

    def sql(self, cell):
        return f"CASE WHEN lower({self.part.sql(cell)}) IN ({', '.join(quote(v) for v in self.spellings)}) THEN '1' ELSE '' END"

    def checks(self, cell):
        # lower() agrees with str.lower() on ASCII; anything else is read in Python.
        return self.part.checks(cell) + [ascii_check(self.part.sql(cell))]

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class AnyOf(Expr):
    """"1" when any of the tests is (a row skipped for any of its preset's reasons)."""

    parts: tuple[Expr, ...]

    def py(self, cells):
        return "1" if any(part.py(cells) == "1" for part in self.parts) else ""

    def sql(self, cell):
        tests = " OR ".join(f"({part.sql(cell)}) = '1'" for part in self.parts)
        return f"CASE WHEN {tests} THEN '1' ELSE '' END"

    def checks(self, cell):
        return [c for part in self.parts for c in part.checks(cell)]

    def sources(self):
        return set().union(*(part.sources() for part in self.parts))


# Option names are compared with their ASCII letters lowered, the same in Python and SQL whatever
# the database's locale; other letters are matched in the usual spellings (see option_spellings).
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)


_CASES = (str.lower, str.upper, str.title, str.capitalize)


def option_spellings(*names: str) -> frozenset[str]:
    """The names as an option name is compared: each in lower, upper, title and first-capital case,
    its ASCII letters then lowered ("Größe" -> "größe", "grÖsse")."""
    return frozenset(case(name).translate(_ASCII_LOWER) for name in names for case in _CASES)


def option_cases(*names: str) -> frozenset[str]:
    """The names as shops write them: each in lower, upper, title and first-capital case ("Größe", "GRÖSSE")."""
    return frozenset(case(name) for name in names for case in _CASES)


@dataclass(frozen=True)
class NamedOption(Expr):
    """The value of the first option whose name is one of ``spellings`` (see option_spellings):
    Shopify's "Option1 Name" "Color" with "Option1 Value" "Red" is the colour red.

    ``known``: names as shops write them ("Size", "Color"), whose answer is worked out here, so
    SQL looks them up instead of lowering each record's name (translate() costs about 0.7 µs a
    record); any other name is lowered and compared as before.
    """

    names: tuple[Expr, ...]
    values: tuple[Expr, ...]
    spellings: frozenset[str]
    known: frozenset[str] = frozenset()

    def py(self, cells):
        for name, value in zip(self.names, self.values, strict=True):
            if name.py(cells).translate(_ASCII_LOWER) in self.spellings:
                return value.py(cells)
        return ""

    def _named(self, name: str) -> str:
        """Whether the option name ``name`` (SQL) is one of the spellings."""
        listed = ", ".join(quote(s) for s in sorted(self.spellings))
        compared = f"translate({name}, '{_UPPER}', '{_LOWER}') IN ({listed})"
        found = {known: known.translate(_ASCII_LOWER) in self.spellings for known in self.known}
        whens = [
            f"WHEN {name} IN ({', '.join(quote(k) for k in sorted(k for k, v in found.items() if v is answer))}) "
            f"THEN {str(answer).upper()}"
            for answer in (True, False)
            if answer in found.values()
        ]
        return f"CASE {' '.join(whens)} ELSE {compared} END" if whens else compared

    def sql(self, cell):
        whens = " ".join(
            f"WHEN {self._named(name.sql(cell))} THEN {value.sql(cell)}"
            for name, value in zip(self.names, self.values, strict=True)
        )
        return f"CASE {whens} ELSE '' END"

    def checks(self, cell):
        return [c for part in (*self.names, *self.values) for c in part.checks(cell)]

    def sources(self):
        return set().union(*(part.sources() for part in (*self.names, *self.values)))


# A day as PrestaShop writes it ("2024-06-01", or "2024-06-01 00:00:00": its first ten characters).
ISO_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ISO_DAY_RE = re.compile(ISO_DAY)
NO_DAY = ("", "0000-00-00")  # no bound


def _within(day: str, today: str, *, start: bool) -> bool:
    day = day[:10]
    if day in NO_DAY:
        return True
    if not _ISO_DAY_RE.match(day):
        return False
    return day <= today if start else today <= day


def _within_sql(part: Expr | None, cell: CellSql, today: str, *, start: bool) -> str:
    """SQL: what _within() says of ``part``'s day (TRUE without a part)."""
    if part is None:
        return "TRUE"
    day = f"left({part.sql(cell)}, 10)"
    # Compared as Python compares the texts, character by character, whatever the collation.
    ordered = f'{day} COLLATE "C"'
    compared = f"{ordered} <= {quote(today)}" if start else f"{quote(today)} <= {ordered}"
    return f"CASE WHEN {day} IN ('', '0000-00-00') THEN TRUE WHEN {day} ~ {quote(ISO_DAY)} THEN {compared} ELSE FALSE END"


@dataclass(frozen=True)
class SaleWhile(Expr):
    """A sale price that applies from ``start`` to ``end`` (ISO days, inclusive, either empty for no
    bound): the sale price on ``today`` within them, else none (a WooCommerce sale scheduled to begin
    later, or over)."""

    sale: Expr
    start: Expr | None
    end: Expr | None
    today: str

    def py(self, cells):
        running = _within(self.start.py(cells) if self.start else "", self.today, start=True) and _within(
            self.end.py(cells) if self.end else "", self.today, start=False
        )
        return self.sale.py(cells) if running else ""

    def sql(self, cell):
        running = " AND ".join(
            f"({_within_sql(part, cell, self.today, start=start)})"
            for part, start in ((self.start, True), (self.end, False))
            if part is not None
        )
        return f"CASE WHEN {running} THEN {self.sale.sql(cell)} ELSE '' END" if running else self.sale.sql(cell)

    def checks(self, cell):
        return [c for part in (self.sale, self.start, self.end) if part is not None for c in part.checks(cell)]

    def sources(self):
        found = self.sale.sources()
        for part in (self.start, self.end):
            found |= part.sources() if part is not None else set()
        return found


def sale_period_runs(period: str, today: str) -> bool:
    """Whether a sale runs on ``today`` (ISO day) by its period, Google's sale_price_effective_date
    ("2026-10-01T00:00-0800/2026-10-15T23:59-0800"): each bound's day as written (its time and offset
    aside), inclusive. A period that is empty, or whose bounds are not both ISO days, does not limit it."""
    parts = period.split("/")
    start = parts[0].strip(" ")[:10]
    end = parts[1].strip(" ")[:10] if len(parts) > 1 else ""
    if not (_ISO_DAY_RE.match(start) and _ISO_DAY_RE.match(end)):
        return True
    return start <= today <= end


@dataclass(frozen=True)
class InEffect(Expr):
    """A sale price only while its period (``period``: see sale_period_runs) runs on ``today``: empty
    before it begins and after it ends, as Google applies it."""

    part: Expr
    period: Expr
    today: str

    def py(self, cells):
        value = self.part.py(cells)
        return value if sale_period_runs(self.period.py(cells), self.today) else ""

    def sql(self, cell):
        period = self.period.sql(cell)
        start = f"left(btrim(split_part({period}, '/', 1), ' '), 10)"
        end = f"left(btrim(split_part({period}, '/', 2), ' '), 10)"
        # Compared as Python compares the texts, character by character, whatever the collation.
        runs = f'{start} COLLATE "C" <= {quote(self.today)} AND {quote(self.today)} <= {end} COLLATE "C"'
        return (
            f"CASE WHEN {start} ~ {quote(ISO_DAY)} AND {end} ~ {quote(ISO_DAY)} AND NOT ({runs}) "
            f"THEN '' ELSE {self.part.sql(cell)} END"
        )

    def checks(self, cell):
        return self.part.checks(cell) + self.period.checks(cell)

    def sources(self):
        return self.part.sources() | self.period.sources()


@dataclass(frozen=True)
class Discounted(Expr):
    """A sale price from a regular price and a discount (PrestaShop's): the price less ``amount``
    when that is above zero, else less ``percent`` per cent, when the discount runs on ``today``
    (ISO day; ``start``..``end`` inclusive, either empty or "0000-00-00" for no bound); rounded
    to the cent. Empty without a discount running, or when nothing would be left to pay."""

    price: Expr
    amount: Expr | None
    percent: Expr | None
    start: Expr | None
    end: Expr | None
    today: str

    def py(self, cells):
        if not (
            _within(self.start.py(cells) if self.start else "", self.today, start=True)
            and _within(self.end.py(cells) if self.end else "", self.today, start=False)
        ):
            return ""
        price = _amount(self.price.py(cells)) if self.price.py(cells) else None
        if price is None:
            return ""
        amount = _amount(self.amount.py(cells)) if self.amount and self.amount.py(cells) else None
        percent = _amount(self.percent.py(cells)) if self.percent and self.percent.py(cells) else None
        if amount is not None and amount > 0:
            sale = price - amount
        elif percent is not None and percent > 0:
            sale = price * (1 - percent / 100)
        else:
            return ""
        sale = sale.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"{sale:.2f}" if sale > 0 else ""

    def _within_sql(self, part: Expr | None, cell: CellSql, *, start: bool) -> str:
        return _within_sql(part, cell, self.today, start=start)

    def sql(self, cell):
        def number(part: Expr) -> str:
            return f"split_part({part.sql(cell)}, ' ', 1)::numeric"

        price = number(self.price)
        # Only plain amounts are read here (the checks send any other record to Python).
        found = []
        if self.amount is not None:
            less = f"round({price} - {number(self.amount)}, 2)"
            found.append((self.amount, f"{number(self.amount)} > 0", less))
        if self.percent is not None:
            less = f"round({price} * (1 - {number(self.percent)} / 100), 2)"
            found.append((self.percent, f"{number(self.percent)} > 0", less))
        # A CASE evaluates in order: nothing is cast that is not a plain amount.
        choice = "''"
        for part, above_zero, sale in reversed(found):
            taken = f"CASE WHEN {sale} > 0 THEN {sale}::text ELSE '' END"
            choice = (
                f"CASE WHEN {part.sql(cell)} ~ {quote(PLAIN_AMOUNT)} THEN "
                f"(CASE WHEN {above_zero} THEN ({taken}) ELSE ({choice}) END) ELSE ({choice}) END"
            )
        running = (
            f"({self._within_sql(self.start, cell, start=True)}) AND ({self._within_sql(self.end, cell, start=False)})"
        )
        return (
            f"CASE WHEN NOT ({running}) THEN '' WHEN {self.price.sql(cell)} ~ {quote(PLAIN_AMOUNT)} "
            f"THEN ({choice}) ELSE '' END"
        )

    def checks(self, cell):
        parts = [p for p in (self.amount, self.percent) if p is not None]
        plain = [f"({p.sql(cell)} = '' OR {p.sql(cell)} ~ {quote(PLAIN_AMOUNT)})" for p in parts]
        none = " AND ".join(f"{p.sql(cell)} = ''" for p in parts) or "TRUE"
        price = self.price.sql(cell)
        return [c for p in (self.price, *parts) for c in p.checks(cell)] + plain + [
            f"({price} = '' OR {price} ~ {quote(PLAIN_AMOUNT)} OR ({none}))"
        ]

    def sources(self):
        found = self.price.sources()
        for part in (self.amount, self.percent, self.start, self.end):
            found |= part.sources() if part is not None else set()
        return found


# Magento's "additional_attributes": "code=value" pairs separated by commas. A comma inside a value
# only continues it (the segment after it has no "="); with the export's "Fields Enclosure" the
# values are quoted ('color="Red, dark"', '""' for a quote) and may hold anything.
_UNWRAPPED_PAIR = r"(^|,)({codes})=([^,]*(,[^,=]*(?=,|$))*)"
_WRAPPED_PAIR_RE = re.compile(r'([a-zA-Z0-9_]+)="((?:[^"]|""|"(?!,))+)"+')


@dataclass(frozen=True)
class PairValue(Expr):
    """The value of the first ``code=value`` pair whose code is one of ``codes`` in a list cell
    (Magento's additional_attributes "color=Red,size=M"); quoted values are read in Python."""

    part: Expr
    codes: tuple[str, ...]

    @property
    def _pattern(self) -> str:
        return _UNWRAPPED_PAIR.format(codes="|".join(re.escape(code) for code in self.codes))

    def py(self, cells):
        text = self.part.py(cells)
        if '="' in text:
            for match in _WRAPPED_PAIR_RE.finditer(text):
                if match[1] in self.codes:
                    return match[2].replace('""', '"').strip()
            return ""
        found = re.search(self._pattern, text)
        return found[3].strip() if found else ""

    def sql(self, cell):
        value = self.part.sql(cell)
        return f"btrim(COALESCE((regexp_match({value}, {quote(self._pattern)}))[3], ''), {WS})"

    def checks(self, cell):
        # Quoted values (the export's "Fields Enclosure") are read in Python.
        return self.part.checks(cell) + [f"strpos({self.part.sql(cell)}, '=\"') = 0"]

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class OnePart(Expr):
    """A value rewritten from one part's text: SQL derives it as Python does wherever the part
    does, and it comes from the part's cells."""

    part: Expr

    def checks(self, cell):
        return self.part.checks(cell)

    def sources(self):
        return self.part.sources()


@dataclass(frozen=True)
class Blank(OnePart):
    """A cell, empty when it holds a placeholder for nothing (Magento's product grid writes " -")."""

    marks: tuple[str, ...] = ("-",)

    def py(self, cells):
        text = self.part.py(cells)
        return "" if text in self.marks else text

    def sql(self, cell):
        value = self.part.sql(cell)
        return f"CASE WHEN {value} IN ({', '.join(quote(m) for m in self.marks)}) THEN '' ELSE {value} END"


# A price as a back office shows it, its currency's symbol first ("€64.99").
SYMBOL_PRICE = r"^([€$£])([0-9]{1,10}(\.[0-9]{1,2})?)$"
_SYMBOL_PRICE_RE = re.compile(SYMBOL_PRICE)
_SYMBOL_CURRENCIES = (("€", "EUR"), ("$", "USD"), ("£", "GBP"))


@dataclass(frozen=True)
class SymbolPrice(OnePart):
    """A price written with its currency's symbol first ("€64.99") as "64.99 EUR", which both
    readers read alike; any other text is kept, for the price's own reading."""

    def py(self, cells):
        text = self.part.py(cells)
        found = _SYMBOL_PRICE_RE.match(text)
        return f"{found[2]} {dict(_SYMBOL_CURRENCIES)[found[1]]}" if found else text

    def sql(self, cell):
        value = self.part.sql(cell)
        whens = " ".join(f"WHEN {quote(s)} THEN {quote(c)}" for s, c in _SYMBOL_CURRENCIES)
        return (
            f"CASE WHEN {value} ~ {quote(SYMBOL_PRICE)} THEN substr({value}, 2) || ' ' || "
            f"(CASE left({value}, 1) {whens} END) ELSE {value} END"
        )


# A number of items, or a list of them by source ("Default Source: 1, Supplier Stock: 0", as
# Magento's product grid shows a product's stock in each of its sources).
STOCK_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
STOCK_LIST = r"^[^,:]+: *-?[0-9]+(\.[0-9]+)?( *, *[^,:]+: *-?[0-9]+(\.[0-9]+)?)*$"
STOCK_LIST_ITEM = r": *(-?[0-9]+(\.[0-9]+)?)"
_STOCK_NUMBER_RE, _STOCK_LIST_RE, _STOCK_LIST_ITEM_RE = map(re.compile, (STOCK_NUMBER, STOCK_LIST, STOCK_LIST_ITEM))


def _count_text(total: Decimal) -> str:
    return str(int(total)) if total == total.to_integral_value() else f"{total:f}"


@dataclass(frozen=True)
class StockTotal(OnePart):
    """A stock as a whole number when it is one ("4.0000" -> "4"), or the sum of a list of stocks
    by source ("Default Source: 1, Supplier Stock: 2" -> "3"); any other text is kept, for the
    quantity's own reading."""

    def py(self, cells):
        text = self.part.py(cells)
        if _STOCK_NUMBER_RE.match(text):
            return _count_text(Decimal(text))
        if _STOCK_LIST_RE.match(text):
            return _count_text(sum((Decimal(m[0]) for m in _STOCK_LIST_ITEM_RE.findall(text)), Decimal(0)))
        return text

    def sql(self, cell):
        value = self.part.sql(cell)

        def counted(number: str) -> str:
            return f"(CASE WHEN {number} = trunc({number}) THEN trunc({number})::text ELSE ({number})::text END)"

        total = f"(SELECT sum(m.found[1]::numeric) FROM regexp_matches({value}, {quote(STOCK_LIST_ITEM)}, 'g') AS m(found))"
        return (
            f"CASE WHEN {value} ~ {quote(STOCK_NUMBER)} THEN {counted(f'({value})::numeric')} "
            f"WHEN {value} ~ {quote(STOCK_LIST)} THEN {counted(total)} ELSE {value} END"
        )


@dataclass(frozen=True)
class Link(OnePart):
    """A cell when it is a web address (http or https), else empty: a back office's image path is no link."""

    def py(self, cells):
        text = self.part.py(cells)
        return text if re.match(r"https?://", text, re.IGNORECASE) else ""

    def sql(self, cell):
        value = self.part.sql(cell)
        return f"CASE WHEN {value} ~* '^https?://' THEN {value} ELSE '' END"
