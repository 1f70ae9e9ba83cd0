"""One page's writes: orders upserted by shipment id, items by inventory unit id, nothing for the unchanged."""
import copy

import pytest

from imports.orders.letzshop.fake import FakeLetzshop
from imports.orders.parsing import Unusable, parse_shipment
from imports.orders.writers import orders_write_page, orders_write_pages, refresh_stale_statistics
from wizamart.marketplace.models import Order, OrderItem

FAKE = FakeLetzshop(vendors={"maison-lux": "k"}, shipments=20)


def write(vendor, nodes):
    return orders_write_page(vendor=vendor, records=[parse_shipment(node) for node in nodes])


def test_an_update_keeps_the_rows_upserts_items_and_drops_removed_units(vendor, catalogue):
    node = next(n for n in (FAKE.node("maison-lux", i) for i in range(20)) if len(n["inventoryUnits"]) >= 2)
    first = write(vendor, [node])
    order = Order.objects.get(external_id=node["id"])
    item_ids = dict(order.items.values_list("external_id", "id"))
    assert (first.created, first.items_written) == (1, len(node["inventoryUnits"]))

    changed = copy.deepcopy(node)
    changed["state"] = "shipped"
    dropped = changed["inventoryUnits"].pop()
    changed["inventoryUnits"][0]["variant"]["price"] = "1.50"
    again = write(vendor, [changed])

    assert (again.created, again.updated, again.unchanged) == (0, 1, 0)
    updated = Order.objects.get(external_id=node["id"])
    assert (updated.pk, updated.created_at, updated.status) == (order.pk, order.created_at, "shipped")
    assert updated.updated_at > order.updated_at
    kept = dict(updated.items.values_list("external_id", "id"))
    assert dropped["id"] not in kept and kept == {k: v for k, v in item_ids.items() if k != dropped["id"]}
    assert str(OrderItem.objects.get(external_id=changed["inventoryUnits"][0]["id"]).unit_price) == "1.50"


def test_unchanged_shipments_are_not_written_and_a_repeat_on_one_page_is_one_order(vendor, catalogue):
    nodes = [FAKE.node("maison-lux", i) for i in range(10)]
    write(vendor, nodes)
    stamps = dict(Order.objects.values_list("external_id", "updated_at"))
    repeat = copy.deepcopy(nodes[3])
    repeat["state"] = "returned"

    result = write(vendor, [*nodes, repeat])

    assert (result.created, result.updated, result.unchanged) == (0, 1, 9)
    assert Order.objects.count() == 10
    assert Order.objects.get(external_id=nodes[3]["id"]).status == "returned"
    assert {k: v for k, v in Order.objects.values_list("external_id", "updated_at") if v != stamps[k]}.keys() == {nodes[3]["id"]}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda n: n.pop("id"), "the shipment has no id"),
        (lambda n: n["order"].update(total="12,90"), 'order.total is not a decimal amount: "12,90"'),
        (lambda n: n.update(updatedAt="yesterday"), 'updatedAt is not an ISO 8601 time: "yesterday"'),
        (lambda n: n["inventoryUnits"][0]["variant"].update(price=None), 'inventory unit 1 price is not a decimal amount: ""'),
        (lambda n: n.update(order=None), "the shipment has no order"),
    ],
)
def test_unusable_shipments_say_why(change, reason):
    node = FAKE.node("maison-lux", 1)
    change(node)
    with pytest.raises(Unusable) as caught:
        parse_shipment(node)
    assert str(caught.value) == reason


def test_unknown_state_and_extra_fields_do_not_break_the_import(vendor):
    node = FAKE.node("maison-lux", 2)
    node["state"] = "partially_refunded"
    node["somethingNew"] = {"x": 1}
    write(vendor, [node])
    assert Order.objects.get(external_id=node["id"]).status == "partially_refunded"


def test_pages_written_together_count_as_written_in_turn_and_store_each_last_state(vendor, catalogue):
    nodes = [FAKE.node("maison-lux", i) for i in range(6)]
    write(vendor, nodes[:2])  # stored before
    changed = copy.deepcopy(nodes[4])
    changed["state"] = "returned"
    changed["inventoryUnits"][0]["variant"]["price"] = "2.25"
    pages = [nodes[:3], [nodes[3], nodes[4]], [changed, nodes[5]]]

    first, second, third = orders_write_pages(
        vendor=vendor, pages=[[parse_shipment(node) for node in page] for page in pages])

    assert [(p.created, p.updated, p.unchanged) for p in (first, second, third)] == [(1, 0, 2), (2, 0, 0), (1, 1, 0)]
    # Each shipment is written once, in its last state, and its items are counted on that page.
    assert (first.items_written, second.items_written) == (len(nodes[2]["inventoryUnits"]), len(nodes[3]["inventoryUnits"]))
    assert third.items_written == len(changed["inventoryUnits"]) + len(nodes[5]["inventoryUnits"])
    assert Order.objects.count() == 6
    assert Order.objects.get(external_id=changed["id"]).status == "returned"
    assert str(OrderItem.objects.get(external_id=changed["inventoryUnits"][0]["id"]).unit_price) == "2.25"


@pytest.mark.postgres
def test_stale_statistics_of_the_order_tables_are_refreshed_once_they_fall_behind(vendor, catalogue):
    from django.db import connection

    write(vendor, [FAKE.node("maison-lux", i) for i in range(20)])

    assert refresh_stale_statistics(created=10**9) is True  # the statistics know fewer orders than that
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Order._meta.db_table])
        assert cursor.fetchone()[0] >= 20
    assert refresh_stale_statistics(created=20) is False  # fresh now: nothing to do
