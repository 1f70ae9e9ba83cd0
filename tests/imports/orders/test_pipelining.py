"""The next page is fetched while the current one is written, never more than the prefetch bound ahead."""
import time

import pytest

from background_tasks.status import TaskStatus
from imports.orders import services

pytestmark = pytest.mark.usefixtures("fast_retries")


def test_fetches_overlap_writes_and_stay_bounded(fake_letzshop, vendor, catalogue, run_order_import, settings, monkeypatch):
    settings.LETZSHOP_PAGE_SIZE = 10
    settings.LETZSHOP_PREFETCH_PAGES = 2
    server = fake_letzshop(shipments=60, latency_ms=100)  # 6 pages
    writes = []  # (started, ended) of each page's write, on the same clock as the server's log
    write = services.orders_write_page

    def slow_write(**kwargs):
        started = time.monotonic()
        result = write(**kwargs)
        time.sleep(0.3)  # a busy database
        writes.append((started, time.monotonic()))
        return result

    monkeypatch.setattr(services, "orders_write_page", slow_write)
    job = run_order_import(vendor)

    assert job.status == TaskStatus.COMPLETED and job.orders_created == 60
    received = [request.received for request in server.requests]
    assert len(received) == len(writes) == 6
    # While page 1 was being written, page 2 was already asked for (and answered).
    assert received[1] < writes[0][1]
    for n, (_started, ended) in enumerate(writes[:2]):
        # Bounded: two pages queued and one in hand at most; page n+4 is asked for once page n is written.
        assert received[n + 4] >= ended
    # Overlapped, six pages of 0.1 s and six writes of 0.3 s take about the writes, not the sum.
    assert writes[-1][1] - received[0] < 6 * 0.3 + 6 * 0.1
