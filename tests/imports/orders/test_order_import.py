"""The order import end to end against the fake Letzshop server over real HTTP."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from background_tasks.models import AdminNotification
from background_tasks.services import background_task_retry
from background_tasks.status import TaskStatus
from wizamart.marketplace.models import Order, OrderItem

from .conftest import served_nodes

pytestmark = pytest.mark.usefixtures("fast_retries")


@pytest.fixture
def small_pages(settings):
    settings.LETZSHOP_PAGE_SIZE = 40
    return settings


def test_full_import_creates_every_order_and_item_linked_to_products(
    fake_letzshop, vendor, catalogue, run_order_import, small_pages
):
    server = fake_letzshop(shipments=250)
    job = run_order_import(vendor)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    nodes = served_nodes(server)
    units = sum(len(node["inventoryUnits"]) for node in nodes)
    assert (job.pages_fetched, job.shipments_seen, job.orders_created, job.items_written) == (7, 250, 250, units)
    assert (job.orders_updated, job.orders_rejected, job.unknown_skus, job.retries) == (0, 0, 0, 0)
    assert Order.objects.filter(vendor=vendor).count() == 250
    assert OrderItem.objects.filter(order__vendor=vendor, product__isnull=False).count() == units
    node = nodes[17]
    order = Order.objects.get(vendor=vendor, external_id=node["id"])
    assert order.total == Decimal(node["order"]["total"])
    assert (order.customer_email, order.ship_country, order.status) == (
        node["order"]["email"], node["order"]["shipAddress"]["country"]["iso"], node["state"])
    assert sorted(order.items.values_list("external_id", flat=True)) == sorted(u["id"] for u in node["inventoryUnits"])
    assert job.progress_message == "250 created, 0 updated, 0 unchanged, 0 rejected"
    assert job.since_used is None and job.latest_update_seen.isoformat() == nodes[-1]["updatedAt"]
    assert job.get_details()["cursor"] == job.cursor != ""


def test_second_run_is_incremental_and_writes_nothing(fake_letzshop, vendor, catalogue, run_order_import, small_pages):
    server = fake_letzshop(shipments=120)
    first = run_order_import(vendor)
    stamps = dict(Order.objects.values_list("external_id", "updated_at"))
    item_count = OrderItem.objects.count()
    server.requests.clear()

    again = run_order_import(vendor)

    assert again.status == TaskStatus.COMPLETED
    assert again.since_used == first.latest_update_seen
    assert server.requests[0].variables["updatedSince"] == first.latest_update_seen.isoformat()
    assert (again.orders_created, again.orders_updated, again.items_written) == (0, 0, 0)
    assert again.orders_unchanged == again.shipments_seen == 1  # the boundary shipment, seen again and unchanged
    assert dict(Order.objects.values_list("external_id", "updated_at")) == stamps
    assert OrderItem.objects.count() == item_count


def test_a_rerun_over_the_whole_history_changes_nothing(fake_letzshop, vendor, catalogue, run_order_import, small_pages):
    fake_letzshop(shipments=90)
    run_order_import(vendor)
    stamps = dict(Order.objects.values_list("external_id", "updated_at"))

    again = run_order_import(vendor, since=datetime(2000, 1, 1, tzinfo=UTC))

    assert (again.shipments_seen, again.orders_unchanged, again.orders_created, again.orders_updated) == (90, 90, 0, 0)
    assert dict(Order.objects.values_list("external_id", "updated_at")) == stamps


def test_a_shipment_changed_between_pages_is_one_order_updated(fake_letzshop, vendor, catalogue, run_order_import, small_pages):
    server = fake_letzshop(shipments=100)
    server.script("ok", "change")  # while the second page is asked for, a shipment of the first changes
    job = run_order_import(vendor)

    assert job.status == TaskStatus.COMPLETED
    assert server.faults_injected == {"change": 1}
    assert job.shipments_seen == 101  # one shipment came twice
    assert (job.orders_created, job.orders_updated) == (100, 1)
    assert Order.objects.filter(vendor=vendor).count() == 100
    changed = [i for i in range(100) if server.data["maison-lux"].versions.get(i)]
    (index,) = changed
    order = Order.objects.get(external_id=server.shipment_id("maison-lux", index))
    assert order.status == server.node("maison-lux", index)["state"]


def test_a_later_change_is_picked_up_by_the_next_incremental_run(fake_letzshop, vendor, catalogue, run_order_import):
    server = fake_letzshop(shipments=60)
    run_order_import(vendor)
    server.data["maison-lux"].change(12)

    again = run_order_import(vendor)

    assert (again.orders_created, again.orders_updated, again.orders_unchanged) == (0, 1, 1)
    assert Order.objects.get(external_id=server.shipment_id("maison-lux", 12)).status == server.node("maison-lux", 12)["state"]


def test_unusable_shipments_are_rejected_and_unknown_skus_kept_as_warnings(fake_letzshop, vendor, catalogue, run_order_import):
    server = fake_letzshop(shipments=100, bad_every=10, unknown_sku_every=7)
    job = run_order_import(vendor)

    nodes = served_nodes(server)
    good = [n for n in nodes if "," not in n["order"]["total"]]
    unknown = [u for n in good for u in n["inventoryUnits"] if u["variant"]["sku"].startswith("NOT-IN")]
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (job.orders_rejected, job.orders_created, job.unknown_skus) == (10, 90, len(unknown)) and unknown
    assert job.rejected_sample[0] == {
        "shipment": "maison-lux-S0000009",
        "reason": f'order.total is not a decimal amount: "{nodes[9]["order"]["total"]}"',
    }
    item = OrderItem.objects.get(external_id=unknown[0]["id"])
    assert (item.product_id, item.sku, item.unit_price) == (None, unknown[0]["variant"]["sku"], Decimal(unknown[0]["variant"]["price"]))
    assert job.progress_message == "90 created, 0 updated, 0 unchanged, 10 rejected"


def test_a_field_error_on_one_node_rejects_that_shipment_only(fake_letzshop, vendor, catalogue, run_order_import):
    server = fake_letzshop(shipments=30)
    server.script("node_error")
    job = run_order_import(vendor)

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (job.orders_created, job.orders_rejected) == (29, 1)
    assert job.rejected_sample == [{
        "shipment": "maison-lux-S0000015",
        "reason": "the API reported an error on it: Could not load the customer's e-mail address.",
    }]


@pytest.mark.parametrize("fault", ["401", "403"])
def test_refused_key_fails_at_once_with_a_readable_message(fake_letzshop, vendor, run_order_import, fault):
    server = fake_letzshop(shipments=30)
    server.script(fault)
    job = run_order_import(vendor)

    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("The Letzshop API refused the vendor's API key")
    assert len(server.requests) == 1
    assert AdminNotification.objects.filter(job_id=job.pk, task_type="order_import").exists()


def test_revoked_key_fails_saying_so(fake_letzshop, vendor, run_order_import):
    from .conftest import API_KEY

    fake_letzshop(shipments=30, revoked_keys={API_KEY}, vendors={})
    job = run_order_import(vendor)
    assert job.status == TaskStatus.FAILED
    assert "The API key has been revoked." in job.error_message


def test_unreachable_server_fails_after_the_retries(fake_letzshop, vendor, run_order_import, settings):
    settings.LETZSHOP_MAX_ATTEMPTS = 3
    server = fake_letzshop(shipments=30)
    server.stop()
    job = run_order_import(vendor)
    assert job.status == TaskStatus.FAILED
    assert job.error_message == (
        "The Letzshop API could not be reached after 3 attempts (last: connection failed (ConnectError)); "
        "run the import again later."
    )


def test_twenty_percent_faults_every_shipment_imported_exactly_once(fake_letzshop, vendor, catalogue, run_order_import, settings):
    settings.LETZSHOP_PAGE_SIZE = 25
    settings.LETZSHOP_MAX_ATTEMPTS = 10
    server = fake_letzshop(shipments=500, fault_rate=0.2, seed=2024, retry_after=1, slow_seconds=2.5)
    job = run_order_import(vendor)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    faults = sum(server.faults_injected.values())
    assert faults >= 3
    assert (job.pages_fetched, job.shipments_seen, job.orders_created, job.orders_updated) == (20, 500, 500, 0)
    assert job.retries == faults == len(server.requests) - 20
    assert job.rate_limit_wait_seconds == pytest.approx(server.faults_injected.get("429", 0) * 1.0)
    assert Order.objects.filter(vendor=vendor).count() == 500
    assert set(Order.objects.values_list("external_id", flat=True)) == server.expected_shipment_ids("maison-lux")
    units = sum(len(node["inventoryUnits"]) for node in served_nodes(server))
    assert OrderItem.objects.count() == units


def test_a_failed_import_retried_resumes_from_its_last_committed_page(
    fake_letzshop, vendor, catalogue, run_order_import, run_on_commit, small_pages
):
    server = fake_letzshop(shipments=200)
    # Pages 1-3 are committed, then the key is refused on page 4.
    job = _run_failing_on_request(server, 4, vendor, run_order_import)
    assert job.status == TaskStatus.FAILED
    assert (job.pages_fetched, job.orders_created) == (3, 120)
    cursor = job.cursor
    server.requests.clear()

    run_on_commit(background_task_retry, job=job, triggered_by="manual:test")
    job.refresh_from_db()

    assert job.status == TaskStatus.COMPLETED
    assert server.requests[0].variables["after"] == cursor  # not from zero
    assert [r.status for r in server.requests].count(200) == 2  # pages 4 and 5 only
    assert (job.pages_fetched, job.shipments_seen, job.orders_created) == (5, 200, 200)
    assert Order.objects.count() == 200


def _run_failing_on_request(server, number, vendor, run_order_import):
    original = server._next_fault
    calls = []

    def fault():
        calls.append(1)
        return "401" if len(calls) == number else original()

    server._next_fault = fault
    try:
        return run_order_import(vendor)
    finally:
        server._next_fault = original


def test_progress_says_page_of_estimate_and_orders(fake_letzshop, vendor, catalogue, small_pages, monkeypatch):
    from background_tasks.jobs import JobProgress
    from background_tasks.services import background_task_claim
    from imports.orders.models import LetzshopHistoricalImportJob
    from imports.orders.services import order_import_create

    fake_letzshop(shipments=100)
    job = order_import_create(vendor=vendor, triggered_by="manual:test", dispatch=False)
    job = background_task_claim(model=LetzshopHistoricalImportJob, job_id=job.pk)
    seen = []

    class Recording(JobProgress):
        def __call__(self, percent=None, message=None, *, force=False):
            seen.append((percent, message))

    job.execute(Recording(job))
    assert seen == [(0, "Reading the first page"), (33, "Page 1 of ~3 (40 orders)"),
                    (66, "Page 2 of ~3 (80 orders)"), (99, "Page 3 of ~3 (100 orders)")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_page_commits_skip_the_flush_wait_and_leave_the_session_synchronous(fake_letzshop, vendor, catalogue, monkeypatch):
    """A page's writes and cursor commit without waiting for the WAL flush; nothing else changes."""
    from django.db import connection

    from imports.orders import services
    from imports.orders.services import order_import_create

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    seen = []
    write = services.orders_write_pages

    def watched_write(**kwargs):
        seen.append(synchronous_commit())
        return write(**kwargs)

    monkeypatch.setattr(services, "orders_write_pages", watched_write)
    fake_letzshop(shipments=250)
    job = order_import_create(vendor=vendor, triggered_by="manual:test")  # committed, then run here (eager)
    job.refresh_from_db()

    assert job.status == TaskStatus.COMPLETED and job.pages_fetched == 3
    assert seen and set(seen) == {"off"}
    assert synchronous_commit() == "on"
