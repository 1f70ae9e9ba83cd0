"""Write one page of shipments: set-based upserts of orders and items, nothing for what has not changed."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.db import connection

from wizamart.marketplace.models import Order, OrderItem, Product, Vendor

from .parsing import ShipmentRecord

ORDER_FIELDS = (
    "letzshop_order_id", "order_number", "shipment_number", "status", "customer_name", "customer_email",
    "locale", "ship_country", "currency", "total", "placed_at", "letzshop_updated_at",
)
ITEM_FIELDS = ("product_id", "sku", "title", "gtin", "state", "quantity", "unit_price")
# PostgreSQL array types of the columns the one-statement upserts send (one array a column).
ORDER_TYPES = {"total": "numeric", "placed_at": "timestamptz", "letzshop_updated_at": "timestamptz"}
ITEM_TYPES = {"order_id": "bigint", "product_id": "bigint", "quantity": "integer", "unit_price": "numeric"}


@dataclass
class PageWrite:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    items_written: int = 0
    unknown_skus: list[tuple[str, str]] = field(default_factory=list)  # (shipment id, sku)


def digest(record: ShipmentRecord) -> str:
    """Return a digest of everything the import would write for this shipment (product links included)."""
    payload = [[record.order[name] for name in ORDER_FIELDS], [[item[n] for n in ("external_id", *ITEM_FIELDS)] for item in record.items]]
    return hashlib.sha256(json.dumps(payload, default=str, separators=(",", ":")).encode()).hexdigest()


def link_products(*, vendor: Vendor, records: list[ShipmentRecord]) -> None:
    """Set each item's product_id from the vendor's catalogue (one query) and note the unknown skus."""
    skus = {item["sku"] for record in records for item in record.items if item["sku"]}
    known = dict(Product.objects.filter(vendor=vendor, sku__in=skus).values_list("sku", "id")) if skus else {}
    for record in records:
        for item in record.items:
            item["product_id"] = known.get(item["sku"])
            if item["product_id"] is None:
                record.unknown_skus.append(item["sku"])
        record.digest = digest(record)


def orders_write_page(*, vendor: Vendor, records: list[ShipmentRecord]) -> PageWrite:
    """Write one page of shipments (see orders_write_pages)."""
    return orders_write_pages(vendor=vendor, pages=[records])[0]


def orders_write_pages(*, vendor: Vendor, pages: list[list[ShipmentRecord]]) -> list[PageWrite]:
    """Upsert the pages' orders by (vendor, shipment id) and items by inventory unit id; skip the unchanged.

    Several pages are written together, one statement a table: the counts of each page are what
    writing the pages one after another would give (a shipment created on one page and changed
    on a later one is created, then updated), and each shipment's last state is what is stored.
    Call inside the transaction that also commits the last page's cursor.
    """
    # A shipment twice on one page: its last state wins.
    pages = [list({record.key: record for record in records}.values()) for records in pages]
    records = [record for page in pages for record in page]
    link_products(vendor=vendor, records=records)
    keys = {record.key for record in records}
    stored = dict(Order.objects.filter(vendor=vendor, external_id__in=keys).values_list("external_id", "import_digest")) if keys else {}
    results, latest = _count_pages(pages, stored)
    changed = [record for record in latest.values() if stored.get(record.key) != record.digest]
    if not changed:
        return results
    upsert_orders, upsert_items = (_pg_upsert_orders, _pg_upsert_items) if connection.vendor == "postgresql" else (
        _orm_upsert_orders, _orm_upsert_items)
    ids = upsert_orders(vendor=vendor, records=changed)
    rows = [(ids[record.key], item) for record in changed for item in record.items]
    if rows:
        upsert_items(rows=rows)
    written_on = {id(record): n for n, page in enumerate(pages) for record in page}
    for record in changed:
        results[written_on[id(record)]].items_written += len(record.items)
    _delete_dropped_items(order_ids=[ids[r.key] for r in changed if r.key in stored], kept=[item["external_id"] for _, item in rows])
    return results


def _count_pages(pages: list[list[ShipmentRecord]], stored: dict[str, str]) -> tuple[list[PageWrite], dict[str, ShipmentRecord]]:
    """Count each page's created/updated/unchanged as if written in turn; return the counts and each shipment's last state."""
    results, state, latest = [], dict(stored), {}
    for page in pages:
        result = PageWrite(unknown_skus=[(r.key, sku) for r in page for sku in r.unknown_skus])
        for record in page:
            if record.key not in state:
                result.created += 1
            elif state[record.key] != record.digest:
                result.updated += 1
            else:
                result.unchanged += 1
            state[record.key] = record.digest
            latest.pop(record.key, None)  # re-inserted: the dict keeps the order of last appearance
            latest[record.key] = record
        results.append(result)
    return results, latest


def refresh_stale_statistics(*, created: int) -> bool:
    """ANALYZE the order tables when their statistics say they hold fewer orders than this run created.

    PostgreSQL plans the foreign-key checks of a connection once and keeps the plan: planned
    while the tables were (nearly) empty, each check of an item's order scans the whole order
    table, and a page's commit grows with every page written before it. Fresh statistics
    replan them as index lookups. Autovacuum would, but only after a minute or more. Returns
    whether it ran; without the privilege ANALYZE only warns and skips.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Order._meta.db_table])
        (estimate,) = cursor.fetchone()
        if estimate >= created:
            return False
        cursor.execute(f"ANALYZE {Order._meta.db_table}, {OrderItem._meta.db_table}")
    return True


def _delete_dropped_items(*, order_ids: list[int], kept: list[str]) -> None:
    """Delete the items an updated shipment no longer has (Letzshop removed the unit)."""
    if order_ids:
        OrderItem.objects.filter(order_id__in=order_ids, external_id__isnull=False).exclude(external_id__in=kept).delete()


def _orm_upsert_orders(*, vendor: Vendor, records: list[ShipmentRecord]) -> dict[str, int]:
    """Portable path: bulk_create with ON CONFLICT; return {shipment id: order id}."""
    Order.objects.bulk_create(
        [Order(vendor=vendor, external_id=r.key, import_digest=r.digest, **r.order) for r in records],
        update_conflicts=True,
        unique_fields=["vendor", "external_id"],
        update_fields=[*ORDER_FIELDS, "import_digest", "updated_at"],
    )
    keys = [r.key for r in records]
    return dict(Order.objects.filter(vendor=vendor, external_id__in=keys).values_list("external_id", "id"))


def _orm_upsert_items(*, rows: list[tuple[int, dict]]) -> None:
    items = [OrderItem(order_id=order_id, **{n: item[n] for n in ("external_id", *ITEM_FIELDS)}) for order_id, item in rows]
    OrderItem.objects.bulk_create(items, update_conflicts=True, unique_fields=["order", "external_id"], update_fields=list(ITEM_FIELDS))


def _unnest_upsert(
    *, model, columns: dict[str, list], types: dict[str, str], conflict: tuple[str, ...], extra: dict[str, str],
    keep: tuple[str, ...] = (), returning: str = "",
):
    """One INSERT ... SELECT FROM json_to_recordset(rows) ON CONFLICT DO UPDATE: a page in one statement and one parameter.

    Django's bulk_create builds one placeholder per value, and psycopg dumps an array a value at
    a time in Python; one JSON text (dumped in C) costs the job's thread far less, and the server
    casts each field to its column's type.
    """
    names = list(columns)
    table = model._meta.db_table
    record_type = ", ".join(f"{name} {types.get(name, 'text')}" for name in names)
    extra_names = list(extra)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names + extra_names if name not in conflict + keep)
    computed = "".join(f", {value}" for value in extra.values())
    sql = (
        f"INSERT INTO {table} ({', '.join(names + extra_names)}) "
        f"SELECT {', '.join(names)}{computed} FROM json_to_recordset(%s::json) AS t({record_type}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}{' RETURNING ' + returning if returning else ''}"
    )
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=str, separators=(",", ":"))])
        return cursor.fetchall() if returning else None


def _pg_upsert_orders(*, vendor: Vendor, records: list[ShipmentRecord]) -> dict[str, int]:
    columns = {"vendor_id": [vendor.pk] * len(records), "external_id": [r.key for r in records],
               "import_digest": [r.digest for r in records]}
    columns.update({name: [r.order[name] for r in records] for name in ORDER_FIELDS})
    rows = _unnest_upsert(
        model=Order, columns=columns, types={**ORDER_TYPES, "vendor_id": "bigint"}, conflict=("vendor_id", "external_id"),
        extra={"created_at": "clock_timestamp()", "updated_at": "clock_timestamp()"}, keep=("created_at",), returning="external_id, id",
    )
    return dict(rows)


def _pg_upsert_items(*, rows: list[tuple[int, dict]]) -> None:
    columns = {"order_id": [order_id for order_id, _ in rows]}
    columns.update({name: [item[name] for _, item in rows] for name in ("external_id", *ITEM_FIELDS)})
    _unnest_upsert(model=OrderItem, columns=columns, types=ITEM_TYPES, conflict=("order_id", "external_id"), extra={})
