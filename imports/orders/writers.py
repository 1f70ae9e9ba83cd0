"""Write one page of shipments: set-based upserts of orders and items, nothing for what has not changed."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from wizamart.marketplace.models import Order, OrderItem, Product, Vendor

from .parsing import ShipmentRecord

ORDER_FIELDS = (
    "letzshop_order_id", "order_number", "shipment_number", "status", "customer_name", "customer_email",
    "locale", "ship_country", "currency", "total", "placed_at", "letzshop_updated_at",
)
ITEM_FIELDS = ("product_id", "sku", "title", "gtin", "state", "quantity", "unit_price")


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
    """Upsert the page's orders by (vendor, shipment id) and items by inventory unit id; skip the unchanged.

    Call inside the transaction that also commits the page's cursor.
    """
    latest = {record.key: record for record in records}  # a shipment twice on one page: its last state wins
    records = list(latest.values())
    link_products(vendor=vendor, records=records)
    result = PageWrite(unknown_skus=[(r.key, sku) for r in records for sku in r.unknown_skus])
    stored = dict(Order.objects.filter(vendor=vendor, external_id__in=latest).values_list("external_id", "import_digest"))
    changed = [record for record in records if stored.get(record.key) != record.digest]
    result.unchanged = len(records) - len(changed)
    if not changed:
        return result
    result.updated = sum(1 for record in changed if record.key in stored)
    result.created = len(changed) - result.updated
    Order.objects.bulk_create(
        [Order(vendor=vendor, external_id=r.key, import_digest=r.digest, **r.order) for r in changed],
        update_conflicts=True,
        unique_fields=["vendor", "external_id"],
        update_fields=[*ORDER_FIELDS, "import_digest", "updated_at"],
    )
    ids = dict(Order.objects.filter(vendor=vendor, external_id__in=[r.key for r in changed]).values_list("external_id", "id"))
    items = [
        OrderItem(order_id=ids[record.key], **{name: item[name] for name in ("external_id", *ITEM_FIELDS)})
        for record in changed
        for item in record.items
    ]
    if items:
        OrderItem.objects.bulk_create(
            items, update_conflicts=True, unique_fields=["order", "external_id"], update_fields=list(ITEM_FIELDS)
        )
    result.items_written = len(items)
    _delete_dropped_items(order_ids=[ids[r.key] for r in changed if r.key in stored], kept=[i.external_id for i in items])
    return result


def _delete_dropped_items(*, order_ids: list[int], kept: list[str]) -> None:
    """Delete the items an updated shipment no longer has (Letzshop removed the unit)."""
    if order_ids:
        OrderItem.objects.filter(order_id__in=order_ids, external_id__isnull=False).exclude(external_id__in=kept).delete()
