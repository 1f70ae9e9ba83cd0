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
    writes = []  # (started, ended, pages) of each write, on the same clock as the server's log
    write = services.orders_write_pages

    def slow_write(**kwargs):
        started = time.monotonic()
        result = write(**kwargs)
        time.sleep(0.3)  # a busy database
        writes.append((started, time.monotonic(), len(kwargs["pages"])))
        return result

    monkeypatch.setattr(services, "orders_write_pages", slow_write)
    job = run_order_import(vendor)

    assert job.status == TaskStatus.COMPLETED and job.orders_created == 60
    received = [request.received for request in server.requests]
    assert len(received) == sum(pages for *_, pages in writes) == 6
    # The writer fell behind, so it wrote the pages fetched meanwhile together: fewer writes than pages.
    assert len(writes) < 6
    # While page 1 was being written, page 2 was already asked for (and answered).
    assert received[1] < writes[0][1]
    written = 0
    for _started, ended, pages in writes:
        written += pages
        # Bounded: two pages queued and one in hand at most beyond the pages written.
        assert sum(1 for at in received if at < ended) <= written + 3
    # Overlapped, six pages of 0.1 s and slow writes take about the writes, not the sum.
    assert writes[-1][1] - received[0] < len(writes) * 0.3 + 6 * 0.1


def test_the_short_switch_interval_lasts_while_any_run_reads_and_is_restored_after():
    import sys

    from imports.orders.sources import SWITCH_INTERVAL, Prefetcher

    before = sys.getswitchinterval()
    assert before != SWITCH_INTERVAL

    def pages(stop_event):
        yield from ()

    with Prefetcher(pages) as first:
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        with Prefetcher(pages):  # a second run in the same process (an in-process pool)
            pass
        assert sys.getswitchinterval() == SWITCH_INTERVAL  # the first run still reads
        assert list(first.batches()) == []
    assert sys.getswitchinterval() == before
