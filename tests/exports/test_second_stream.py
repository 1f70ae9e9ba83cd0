"""Outside a transaction, a large export reads every other range on a second connection: same feed, same end."""
import io
import threading

import pytest

from background_tasks.status import TaskStatus
from exports import feeds
from exports.models import ProductExportJob
from tests.factories import ProductFactory, VendorFactory

from .conftest import file_bytes, read_feed_csv
from .test_database_formatting import feed

# Committed rows: the second connection sees only those.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "export-reader"]


@pytest.fixture
def small_ranges(monkeypatch):
    monkeypatch.setattr(feeds, "BATCH_ROWS", 2)
    monkeypatch.setattr(feeds, "SECOND_STREAM_MIN_RANGES", 2)


@pytest.fixture
def opened_readers(monkeypatch):
    """Count the ranges the second connection reads."""
    started = []
    real_init = feeds._RangesAhead.__init__

    def counting(self, statement, params, ranges, read):
        started.append(list(ranges))
        real_init(self, statement, params, ranges, read)

    monkeypatch.setattr(feeds._RangesAhead, "__init__", counting)
    return started


@pytest.mark.parametrize("fmt", [feeds.CSV, feeds.XML])
def test_two_connections_write_the_feed_python_writes(catalogue, small_ranges, opened_readers, fmt):
    vendor, products = catalogue

    from_sql = feed(vendor, fmt, use_sql=True)

    # 15 products, 8 ranges of 2 ids: the second connection reads ranges 2, 4, 6 and 8.
    assert len(products) == 15 and len(opened_readers[0]) == 4
    if fmt == feeds.XML:
        assert from_sql == feed(vendor, fmt, use_sql=False)
    else:
        assert read_feed_csv(from_sql) == read_feed_csv(feed(vendor, fmt, use_sql=False))
    assert not readers()


def test_a_job_with_two_connections_reports_every_row_once(run_export, small_ranges, opened_readers):
    vendor = VendorFactory()
    products = ProductFactory.create_batch(9, vendor=vendor)

    job = run_export(vendor=vendor)

    assert opened_readers
    assert job.status == TaskStatus.COMPLETED
    assert job.row_count == 9
    assert [row["sku"] for row in read_feed_csv(file_bytes(job))] == [p.sku for p in products]
    assert not readers()


def test_cancel_stops_the_second_connection(run_export, small_ranges, monkeypatch):
    vendor = VendorFactory()
    ProductFactory.create_batch(12, vendor=vendor)
    real_execute = ProductExportJob.execute

    def cancel_after_first_batch(job, progress):
        def cancelling(percent=None, message=None, **kwargs):
            if message and message.startswith("2 of"):
                ProductExportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
            return progress(percent, message, force=True)

        return real_execute(job, cancelling)

    monkeypatch.setattr(ProductExportJob, "execute", cancel_after_first_batch)

    job = run_export(vendor=vendor)

    assert job.status == TaskStatus.CANCELLED
    assert job.file_name == ""
    assert not readers()


def test_an_error_on_the_second_connection_fails_the_job(run_export, small_ranges, monkeypatch, settings):
    vendor = VendorFactory()
    ProductFactory.create_batch(8, vendor=vendor)
    real_read = feeds._read_xml_items

    def failing_on_the_reader(copy):
        if threading.current_thread().name == "export-reader":
            raise OSError("connection lost")
        return real_read(copy)

    monkeypatch.setattr(feeds, "_read_xml_items", failing_on_the_reader)

    job = run_export(vendor=vendor, format="xml")

    assert job.status == TaskStatus.FAILED
    assert "connection lost" in job.error_message
    assert [p for p in settings.PRIVATE_STORAGE_ROOT.rglob("*") if p.is_file()] == []
    assert not readers()


def test_two_connections_write_the_google_feed_of_every_vendor(small_ranges, opened_readers):
    lux, esch = VendorFactory(code="maison-lux"), VendorFactory(code="velo-esch")
    for n in range(5):
        ProductFactory(vendor=lux, sku=f"P-{n}", weight=f"{n}.5")
        ProductFactory(vendor=esch, sku=f"P-{n}", brand="B")

    written = []
    for use_sql in (True, False):
        out = io.BytesIO()
        feeds.write_feed(
            filters=feeds.FeedFilters(), fmt=feeds.XML, out=out, on_batch=lambda rows: None, use_sql=use_sql,
            xml_channel={"title": "t", "link": "l", "description": "d"},
        )
        written.append(out.getvalue())

    assert opened_readers and written[0] == written[1]
    assert written[0].count(b"<g:external_seller_id>") == 10 and b"<g:id>velo-esch:P-4</g:id>" in written[0]
    assert not readers()
