"""The product feed columns (Google-Merchant / Letzshop style) that import reads and export writes."""
from __future__ import annotations

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
