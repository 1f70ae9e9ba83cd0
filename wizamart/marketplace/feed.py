"""The product feed columns (Google-Merchant / Letzshop style) that import reads and export writes."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Column name in the feed -> Product field. Order is the order an export writes.
FEED_COLUMNS: dict[str, str] = {
    "id": "sku",
    "title": "title",
    "description": "description",
    "link": "link",
    "image_link": "image_link",
    "additional_image_link": "additional_image_link",
    "availability": "availability",
    "price": "price",
    "sale_price": "sale_price",
    "brand": "brand",
    "gtin": "gtin",
    "mpn": "mpn",
    "condition": "condition",
    "google_product_category": "google_product_category",
    "product_type": "product_type",
    "color": "color",
    "size": "size",
    "weight": "weight",
    "quantity": "quantity",
}

# Columns a feed must have for an import to be possible.
REQUIRED_COLUMNS = ("id", "title", "price")

# Columns written as numbers: never altered by spreadsheet-injection escaping.
NUMERIC_COLUMNS = ("price", "sale_price", "gtin", "quantity")

# Google Merchant Center's product data namespace: the g: elements of an XML feed.
GOOGLE_NS = "http://base.google.com/ns/1.0"
# The Google product data attribute of each feed column (Google names the weight shipping_weight).
# Quantity is none of Google's product attributes: an XML feed for Google leaves it out.
GOOGLE_ATTRIBUTES: dict[str, str] = {
    column: "shipping_weight" if column == "weight" else column for column in FEED_COLUMNS if column != "quantity"
}
# Google's period of a sale price ("start/end", ISO 8601): the sale price applies only while it runs.
SALE_PERIOD_COLUMN = "sale_price_effective_date"
# In a feed of every vendor an item's g:id is "<vendor code>:<sku>" (ids must be unique in a feed)
# and its g:external_seller_id the vendor code; a vendor code never holds this separator.
SELLER_ID_SEPARATOR = ":"


def format_price(amount: Decimal | None, currency: str) -> str:
    """Write a price the way feeds carry it: '19.99 EUR' (empty when there is none)."""
    if amount is None:
        return ""
    return f"{amount:.2f} {currency}".strip()


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection). A leading
# apostrophe is escaped too, so that restore_cell() can undo neutralise_cell() exactly.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE_PREFIX = "'"

# What a numeric column holds when it is a number ("19.99 EUR", "-3", "4006381333931").
NUMBER_PATTERN = r"^[+-]?[0-9]+([.][0-9]+)?( [A-Za-z]{3})?$"
_NUMBER_RE = re.compile(NUMBER_PATTERN)


def neutralise_cell(value: str) -> str:
    """Make a text cell inert in spreadsheets: prefix an apostrophe when it could start a formula."""
    if value and value[0] in FORMULA_PREFIXES + (ESCAPE_PREFIX,):
        return ESCAPE_PREFIX + value
    return value


def restore_cell(value: str) -> str:
    """Undo neutralise_cell(): the text as it was before export."""
    if len(value) > 1 and value[0] == ESCAPE_PREFIX and value[1] in FORMULA_PREFIXES + (ESCAPE_PREFIX,):
        return value[1:]
    return value


def feed_cell(column: str, value: str) -> str:
    """Return the CSV cell of a column: numbers exactly as they are, any other text neutralised."""
    if column in NUMERIC_COLUMNS and _NUMBER_RE.match(value):
        return value
    return neutralise_cell(value)


def report_cell(column: str | None, cell: str) -> str:
    """Return a cell of a feed an import read as a CSV cell to hand back (an error report), made safe
    as feed_cell() makes an export's: trimmed and with any guard undone, as the import reads it,
    then neutralised. Importing the cell again reads what the import read the first time.
    ``column`` is the feed column of the cell, None for a column the import does not read."""
    return feed_cell(column or "", restore_cell(cell.strip()))


# --- Reading feeds -------------------------------------------------------------------------
# Other names vendors use for a feed column (after normalise_header); the canonical name wins
# when a file carries both.
HEADER_ALIASES: dict[str, str] = {
    "sku": "id",
    "product_id": "id",
    "item_id": "id",
    "article_number": "id",
    "name": "title",
    "product_name": "title",
    "url": "link",
    "product_url": "link",
    "image": "image_link",
    "image_url": "image_link",
    "additional_image_links": "additional_image_link",
    "stock": "quantity",
    "qty": "quantity",
    "stock_quantity": "quantity",
    "inventory": "quantity",
    "ean": "gtin",
    "barcode": "gtin",
    "colour": "color",
    # Google's product data names the weight shipping_weight (a TSV/CSV feed's column, as in XML).
    "shipping_weight": "weight",
    "manufacturer": "brand",
    "category": "google_product_category",
}

_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}
# Digits are grouped with a space, also the no-break spaces of French formatting ("1\u202f234,50\u00a0€").
_GROUP_SPACES = " \u00a0\u202f"
_PRICE_RE = re.compile(
    rf"^\s*([A-Za-z]{{3}}|[€$£])?\s*([-+]?[0-9][0-9{_GROUP_SPACES}.,']*)\s*([A-Za-z]{{3}}|[€$£])?\s*$"
)
MAX_PRICE = Decimal("9999999999.99")  # Product.price: max_digits=12, decimal_places=2

AVAILABILITY_SPELLINGS = {
    "in_stock": "in_stock",
    "instock": "in_stock",
    "available": "in_stock",
    "out_of_stock": "out_of_stock",
    "outofstock": "out_of_stock",
    "sold_out": "out_of_stock",
    "preorder": "preorder",
    "pre_order": "preorder",
    "backorder": "backorder",
    "back_order": "backorder",
}
CONDITION_SPELLINGS = {"new": "new", "refurbished": "refurbished", "used": "used"}


class FeedValueError(ValueError):
    """A cell that cannot be read; its message is shown to the vendor as the row's error."""


def normalise_header(name: str) -> str:
    """Return a header cell as a feed column name: 'Sale Price ' -> 'sale_price', 'g:id' -> 'id'."""
    # A header cell handed back in an error report may carry the spreadsheet guard ("'-id").
    text = restore_cell(name.replace("\ufeff", "").strip()).strip().strip('"').strip().lower()
    if text.startswith("g:"):
        text = text[2:]
    return re.sub(r"[\s\-.]+", "_", text).strip("_")


def feed_column(name: str) -> str | None:
    """Return the feed column a header cell names (aliases resolved), or None if unknown."""
    key = normalise_header(name)
    if key in FEED_COLUMNS:
        return key
    return HEADER_ALIASES.get(key)


_UNGROUPED = str.maketrans("", "", _GROUP_SPACES + "'")


def _decimal(number: str) -> Decimal:
    number = number.translate(_UNGROUPED)
    if "," in number and "." in number:
        # The later separator is the decimal one: '1.234,56' and '1,234.56'.
        if number.rfind(",") > number.rfind("."):
            number = number.replace(".", "").replace(",", ".")
        else:
            number = number.replace(",", "")
    elif "," in number:
        head, _, tail = number.rpartition(",")
        # '19,99' is a decimal comma; '1,234' (three digits, one comma) a thousands separator.
        number = number.replace(",", "") if len(tail) == 3 and "," not in head and head.lstrip("+-") else f"{head.replace(',', '')}.{tail}"
    try:
        return Decimal(number)
    except InvalidOperation:
        raise FeedValueError("not a number") from None


# The common "19.99 EUR": no separators to guess, no rounding needed (the import reads it inline too).
SIMPLE_PRICE_RE = re.compile(r"([0-9]{1,10}(?:\.[0-9]{1,2})?) ([A-Z]{3})")


def parse_price(text: str, default_currency: str = "EUR") -> tuple[Decimal, str]:
    """Read a feed price ('19.99 EUR', '19,99 EUR', 'EUR 1.234,50', '€5'); raise FeedValueError."""
    simple = SIMPLE_PRICE_RE.fullmatch(text)
    if simple:
        return Decimal(simple.group(1)), simple.group(2)
    match = _PRICE_RE.match(text)
    if not match or (match.group(1) and match.group(3)):
        raise FeedValueError(f"'{text.strip()}' is not a price like '19.99 EUR'")
    symbol = (match.group(1) or match.group(3) or "").upper()
    currency = _CURRENCY_SYMBOLS.get(symbol, symbol) or default_currency
    try:
        amount = _decimal(match.group(2))
    except FeedValueError:
        raise FeedValueError(f"'{text.strip()}' is not a price like '19.99 EUR'") from None
    if amount < 0:
        raise FeedValueError(f"negative price '{text.strip()}'")
    # Compared before rounding too: quantize() cannot round a number of more than 28 digits.
    if amount <= MAX_PRICE:
        amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount > MAX_PRICE:
        raise FeedValueError(f"price '{text.strip()}' is too large")
    return amount, currency


def parse_quantity(text: str) -> int | None:
    """Read a stock quantity ('12', '12.0', empty for unknown); raise FeedValueError."""
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) < 10:
        return int(text)
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise FeedValueError(f"quantity '{text}' is not a whole number") from None
    if value != value.to_integral_value() or not -(2**31) <= value < 2**31:
        raise FeedValueError(f"quantity '{text}' is not a whole number")
    return int(value)


def parse_availability(text: str) -> str:
    """Read 'in stock', 'In_Stock', 'out of stock' ... (empty means in stock); raise FeedValueError."""
    key = text.strip().lower().replace(" ", "_")
    if not key:
        return "in_stock"
    try:
        return AVAILABILITY_SPELLINGS.get(key) or AVAILABILITY_SPELLINGS[re.sub(r"[\s\-_]+", "_", key)]
    except KeyError:
        raise FeedValueError(f"unknown availability '{text.strip()}'") from None


def parse_condition(text: str) -> str:
    """Read a condition (empty means new); raise FeedValueError."""
    key = text.strip().lower()
    if not key:
        return "new"
    try:
        return CONDITION_SPELLINGS[key]
    except KeyError:
        raise FeedValueError(f"unknown condition '{text.strip()}'") from None
