"""The one statement that writes feed rows as products: insert new skus, update changed ones, count both."""
from __future__ import annotations

import re
from collections.abc import Sequence

from wizamart.marketplace.models import Product

# The Product columns an import writes, with the type (and default, for those a feed may leave
# out) a staging table gives them; the upsert names them in this order.
STAGE_COLUMNS = {
    "sku": "text NOT NULL",
    "title": "text NOT NULL",
    "description": "text NOT NULL DEFAULT ''",
    "link": "text NOT NULL DEFAULT ''",
    "image_link": "text NOT NULL DEFAULT ''",
    "additional_image_link": "text NOT NULL DEFAULT ''",
    "availability": f"text NOT NULL DEFAULT '{Product.Availability.IN_STOCK}'",
    "price": "numeric(12, 2) NOT NULL",
    "currency": "text NOT NULL DEFAULT 'EUR'",
    "sale_price": "numeric(12, 2)",
    "brand": "text NOT NULL DEFAULT ''",
    "gtin": "text NOT NULL DEFAULT ''",
    "mpn": "text NOT NULL DEFAULT ''",
    "condition": f"text NOT NULL DEFAULT '{Product.Condition.NEW}'",
    "google_product_category": "text NOT NULL DEFAULT ''",
    "product_type": "text NOT NULL DEFAULT ''",
    "color": "text NOT NULL DEFAULT ''",
    "size": "text NOT NULL DEFAULT ''",
    "weight": "text NOT NULL DEFAULT ''",
    "quantity": "integer",
}


def column_default(name: str) -> str:
    """Return the SQL default of a staged column (``NULL`` when it has none)."""
    match = re.search(r"DEFAULT ('[^']*')", STAGE_COLUMNS[name])
    return match[1] if match else "NULL"


def compared(alias: str, changed: Sequence[str]) -> str:
    """The columns a write may change, plus ``is_active``, of the row ``alias``: compared as one row value."""
    return ", ".join(f"{alias}.{name}" for name in changed) + f", {alias}.is_active"


def upsert_statement(
    *, table: str, source: str, values: str, changed: Sequence[str], before: str = "", conflicts: bool = True
) -> str:
    """Return the upsert of the rows of ``source`` as the vendor's products; it answers (created, updated).

    ``values`` are the STAGE_COLUMNS of a row of ``source`` (SQL expressions, in order); ``changed``
    the Product fields the feed carries besides the sku; ``before`` a common table expression the
    source is, if any. Parameters: ``%(vendor)s`` and ``%(now)s``.

    A row whose product holds the same values (and is active) is left alone: ON CONFLICT ... WHERE
    skips it, so an unchanged feed writes nothing. ``xmax = 0`` marks a row this statement
    inserted, which tells the created from the updated.

    Without ``conflicts`` the rows are only inserted: a product of the same sku fails the statement
    (unique_violation). An insert that need not be ready for a conflict costs PostgreSQL about a
    third less (no speculative insertion); the caller runs the upsert when it fails.
    """
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in changed)
    on_conflict = f"""ON CONFLICT (vendor_id, sku) DO UPDATE
            SET {updates}, is_active = TRUE, updated_at = EXCLUDED.updated_at
            WHERE ({compared("p", changed)}) IS DISTINCT FROM ({compared("EXCLUDED", changed)})"""
    return f"""WITH {before + ", " if before else ""}written AS (
            INSERT INTO {table} AS p (vendor_id, {", ".join(STAGE_COLUMNS)}, is_active, created_at, updated_at)
            SELECT %(vendor)s, {values}, TRUE, %(now)s, %(now)s FROM {source}
            {on_conflict if conflicts else ""}
            RETURNING (p.xmax = 0) AS inserted
        )
        SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) FROM written"""
