"""The product feed columns (Google-Merchant / Letzshop style) that import reads and export writes."""
from __future__ import annotations

import re
from decimal import Decimal

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
