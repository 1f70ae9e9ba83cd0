"""Turn a shipment node of the Letzshop schema into the values of an Order and its items, or say why it cannot be used."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from wizamart.marketplace.models import Order, OrderItem

_DECIMAL = re.compile(r"^\d{1,10}(\.\d{1,4})?$")
_CENT = Decimal("0.01")


class Unusable(Exception):
    """A shipment the import cannot use; the message is the reason shown to staff."""


@dataclass
class ShipmentRecord:
    key: str  # the shipment's id: the order's key
    order: dict  # Order field values
    items: list[dict]  # OrderItem field values, each with its ``external_id``
    updated_at: datetime
    digest: str = ""
    unknown_skus: list[str] = field(default_factory=list)


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def text(value, *, model=Order, name: str) -> str:
    """Return a text value cut to its column (a longer value must not fail the page's write)."""
    return "" if value is None else str(value).strip()[: _limit(model, name)]


def decimal(value, what: str) -> Decimal:
    raw = "" if value is None else str(value).strip()
    if not _DECIMAL.match(raw):
        raise Unusable(f'{what} is not a decimal amount: "{raw[:30]}"')
    return Decimal(raw).quantize(_CENT, rounding=ROUND_HALF_UP)


def timestamp(value, what: str, *, required: bool = True) -> datetime | None:
    if value in (None, ""):
        if required:
            raise Unusable(f"{what} is missing")
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise Unusable(f'{what} is not an ISO 8601 time: "{str(value)[:40]}"') from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_shipment(node) -> ShipmentRecord:
    """Return the shipment's order and items; raise Unusable with the reason when it cannot be used."""
    if not isinstance(node, dict):
        raise Unusable("not a shipment object")
    key = text(node.get("id"), name="external_id")
    if not key:
        raise Unusable("the shipment has no id")
    order = node.get("order")
    if not isinstance(order, dict):
        raise Unusable("the shipment has no order")
    address = order.get("shipAddress") or {}
    country = (address.get("country") or {}).get("iso")
    name = " ".join(part for part in (address.get("firstName"), address.get("lastName")) if part)
    values = {
        "letzshop_order_id": text(order.get("id"), name="letzshop_order_id"),
        "order_number": text(order.get("number"), name="order_number"),
        "shipment_number": text(node.get("number"), name="shipment_number"),
        # An unknown state is kept as sent: Letzshop may add states before this code knows them.
        "status": text(node.get("state"), name="status") or Order.Status.UNCONFIRMED,
        "customer_name": text(name, name="customer_name"),
        "customer_email": text(order.get("email"), name="customer_email"),
        "locale": text(order.get("locale"), name="locale"),
        "ship_country": text(country, name="ship_country").upper(),
        "currency": text(order.get("currency"), name="currency").upper() or "EUR",
        "total": decimal(order.get("total"), "order.total"),
        "placed_at": timestamp(order.get("completedAt"), "order.completedAt", required=False)
        or timestamp(node.get("createdAt"), "createdAt"),
        "letzshop_updated_at": timestamp(node.get("updatedAt"), "updatedAt"),
    }
    units = node.get("inventoryUnits")
    if not isinstance(units, list):
        raise Unusable("the shipment has no inventory units list")
    items = [parse_unit(unit, n) for n, unit in enumerate(units)]
    return ShipmentRecord(key=key, order=values, items=items, updated_at=values["letzshop_updated_at"])


def parse_unit(unit, n: int) -> dict:
    if not isinstance(unit, dict) or not unit.get("id"):
        raise Unusable(f"inventory unit {n + 1} has no id")
    variant = unit.get("variant")
    if not isinstance(variant, dict):
        raise Unusable(f"inventory unit {n + 1} has no variant")
    trade_id = variant.get("tradeId") or {}
    return {
        "external_id": text(unit["id"], model=OrderItem, name="external_id"),
        "sku": text(variant.get("sku"), model=OrderItem, name="sku"),
        "title": text((variant.get("product") or {}).get("name"), model=OrderItem, name="title"),
        "gtin": text(trade_id.get("number"), model=OrderItem, name="gtin"),
        "state": text(unit.get("state"), model=OrderItem, name="state"),
        "quantity": 1,
        "unit_price": decimal(variant.get("price"), f"inventory unit {n + 1} price"),
    }
