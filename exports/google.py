"""Google Merchant Center's rules for the XML feed: which element holds each column, and in what form."""
from __future__ import annotations

import re

from django.db.models import Count, Q, QuerySet

from wizamart.marketplace.feed import FEED_COLUMNS, GOOGLE_ATTRIBUTES, SELLER_ID_SEPARATOR

# RSS 2.0 items carry title, link and description natively; every other column is a g: attribute.
# Columns that are no Google attribute (quantity) have no element.
XML_ELEMENTS: dict[str, str] = {
    column: column if column in ("title", "link", "description") else f"g:{GOOGLE_ATTRIBUTES[column]}"
    for column in FEED_COLUMNS
    if column in GOOGLE_ATTRIBUTES
}
IDENTIFIER_EXISTS_NO = "<g:identifier_exists>no</g:identifier_exists>\n"
SELLER_ELEMENT = "g:external_seller_id"

TITLE_MAX = 150  # Google cuts nothing itself: a longer title disapproves the item
# The attributes Google requires of every item that a product may lack.
REQUIRED_ATTRIBUTES = ("link", "image_link", "description")
MISSING_EXAMPLES = 5

# A weight: a number (decimal point or comma) and a unit Google knows, or none (kilograms).
WEIGHT_PATTERN = r" *([0-9]+(?:[.,][0-9]+)?) *([A-Za-z]*) *"
_WEIGHT_RE = re.compile(WEIGHT_PATTERN)
WEIGHT_UNITS = {
    "": "kg",
    "kg": "kg",
    "kgs": "kg",
    "kilo": "kg",
    "kilos": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "g": "g",
    "gr": "g",
    "gram": "g",
    "grams": "g",
    "lb": "lb",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "oz": "oz",
    "ounce": "oz",
    "ounces": "oz",
}
# A weight already in Google's form ('1.234 kg'), which google_weight() gives back as it is.
GOOGLE_WEIGHT_PATTERN = r"[0-9]+(?:\.[0-9]+)? (?:kg|g|lb|oz)"
# The additional images of a product are one comma-separated text; Google wants one element each.
LINK_SPACE = " \t\r\n,"
LINK_SEPARATOR_PATTERN = r"[ \t\r\n,]*,[ \t\r\n,]*"
_LINK_SEPARATOR_RE = re.compile(LINK_SEPARATOR_PATTERN)


def google_weight(text: str) -> str | None:
    """The shipping weight as Google reads it ('1.2 kg', '250 g'); a bare number is in kilograms.
    None when the text is no weight Google would take."""
    match = _WEIGHT_RE.fullmatch(text)
    if match is None:
        return None
    unit = WEIGHT_UNITS.get(match[2].lower())
    return f"{match[1].replace(',', '.')} {unit}" if unit else None


def image_links(text: str) -> list[str]:
    """The URLs of a comma-separated list of additional images, without blanks."""
    text = text.strip(LINK_SPACE)
    return _LINK_SEPARATOR_RE.split(text) if text else []


def item_id(sku: str, vendor_code: str | None) -> str:
    """The g:id of a product: its sku, prefixed with its vendor's code in a feed of every vendor."""
    return sku if vendor_code is None else f"{vendor_code}{SELLER_ID_SEPARATOR}{sku}"


def google_texts(column: str, value: str, vendor_code: str | None) -> list[str]:
    """The texts of a column's elements in an item (none for an empty or unusable value)."""
    if not value:
        return []
    if column == "id":
        return [item_id(value, vendor_code)]
    if column == "title":
        return [value[:TITLE_MAX]]
    if column == "additional_image_link":
        return image_links(value)
    if column == "weight":
        weight = google_weight(value)
        return [weight] if weight else []
    return [value]


def missing_attributes(products: QuerySet, *, all_vendors: bool) -> dict[str, dict]:
    """Per required attribute, how many products lack it and the g:id of the first few."""
    found = products.aggregate(**{name: Count("pk", filter=Q(**{name: ""})) for name in REQUIRED_ATTRIBUTES})
    missing = {}
    for name in REQUIRED_ATTRIBUTES:
        if found[name]:
            rows = products.filter(**{name: ""}).values_list("sku", "vendor__code")[:MISSING_EXAMPLES]
            examples = [item_id(sku, code if all_vendors else None) for sku, code in rows]
            missing[name] = {"count": found[name], "examples": examples}
    return missing


def missing_warnings(missing: dict[str, dict]) -> list[str]:
    """The job's warnings about required attributes products lack."""
    warnings = []
    for name, found in missing.items():
        count = found["count"]
        products = "product has" if count == 1 else "products have"
        warnings.append(
            f"{count:,} {products} no {name} (e.g. {', '.join(found['examples'])}); "
            "Google Merchant Center requires it of every item."
        )
    return warnings
