"""A real Celery worker killed with SIGKILL mid-import: the re-run resumes from the last committed page."""
import time

import pytest

from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep
from imports.orders.letzshop.fake import demo_sku
from imports.orders.models import LetzshopHistoricalImportJob
from imports.orders.services import order_import_create
from tests.factories import ProductFactory, VendorFactory
from tests.fixtures.celery_worker import wait_until
from wizamart.marketplace.models import Order, OrderItem

from .conftest import API_KEY, served_nodes

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def test_kill_9_mid_import_resumes_from_the_checkpoint(celery_worker_factory, celery_settings, fake_letzshop):
    celery_settings.BACKGROUND_TASKS = {**celery_settings.BACKGROUND_TASKS, "MAX_ATTEMPTS": 3}
    server = fake_letzshop(shipments=1500, latency_ms=400)  # 15 pages of 100, slow enough to kill mid-way
    vendor = VendorFactory(code="maison-lux", letzshop_api_key=API_KEY)
    for n in range(40):
        ProductFactory(vendor=vendor, sku=demo_sku(vendor.code, n))
    first = celery_worker_factory(LETZSHOP_API_URL=server.url)
    job = order_import_create(vendor=vendor, triggered_by="manual:test")

    def three_pages_committed():
        job.refresh_from_db()
        return job.pages_fetched >= 3

    wait_until(three_pages_committed, what="three pages committed", timeout=90)
    first.kill()  # the whole worker, as an OOM kill or a power cut would
    killed_at = time.monotonic()
    job.refresh_from_db()
    checkpoint, pages_at_kill = job.cursor, job.pages_fetched
    assert job.is_running() and checkpoint and pages_at_kill < 15
    assert Order.objects.count() == pages_at_kill * 100  # exactly the committed pages, nothing half-written

    celery_worker_factory(LETZSHOP_API_URL=server.url)

    def requeued_and_finished():
        background_tasks_sweep()
        job.refresh_from_db()
        return job.is_terminal()

    wait_until(requeued_and_finished, interval=0.5, timeout=120, what="the re-run to finish")
    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.attempts == 2
    after_kill = [r for r in server.requests if r.received > killed_at]
    assert after_kill[0].variables["after"] == checkpoint  # resumed from the checkpoint, not from zero
    assert len([r for r in after_kill if r.status == 200]) == 15 - pages_at_kill
    assert (job.pages_fetched, job.shipments_seen, job.orders_created, job.orders_updated) == (15, 1500, 1500, 0)
    assert Order.objects.count() == 1500
    assert set(Order.objects.values_list("external_id", flat=True)) == server.expected_shipment_ids("maison-lux")
    assert OrderItem.objects.count() == sum(len(n["inventoryUnits"]) for n in served_nodes(server))
    assert LetzshopHistoricalImportJob.objects.count() == 1
