"""The export job: gzip, filters, an empty catalogue, progress by rows, the outcome it records."""
import gzip
import hashlib
import re
import threading
from datetime import timedelta

import pytest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from background_tasks.status import TaskStatus
from exports import feeds
from exports.models import ProductExportJob
from exports.services import private_storage
from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.models import Product

from .conftest import file_bytes, read_feed_csv, stored_bytes

pytestmark = pytest.mark.django_db


def test_outcome_records_rows_size_checksum_and_expiry(catalogue, run_export, settings):
    settings.EXPORTS_RETENTION_HOURS = 5
    vendor, products = catalogue

    job = run_export(vendor=vendor)

    data = stored_bytes(job)
    assert job.row_count == len(products)
    assert job.file_size == len(data) == private_storage().size(job.file_name)
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    assert timedelta(hours=4, minutes=59) < job.expires_at - job.completed_at <= timedelta(hours=5)
    assert job.progress_percent == 100
    assert job.progress_message == f"{len(products)} rows exported ({filesizeformat(len(data)).replace(chr(0xA0), ' ')})"


def test_details_give_the_outcome_and_download_url(catalogue, run_export, staff_client):
    vendor, products = catalogue
    job = run_export(vendor=vendor, format="xml")

    details = staff_client.get(f"/api/v1/admin/background-tasks/{job.pk}").json()["details"]

    assert details["row_count"] == len(products)
    assert details["file_size"] == job.file_size
    assert details["sha256"] == job.sha256
    assert details["format"] == "xml"
    assert details["vendor"] == "maison-lux"
    assert details["download_url"] == f"/api/v1/exports/products/{job.pk}/download"
    assert details["expires_at"] == job.expires_at.isoformat()


def test_gzip_file_is_a_gzip_of_the_feed(catalogue, run_export):
    vendor, products = catalogue

    zipped = run_export(vendor=vendor, gzip=True)
    plain = run_export(vendor=vendor)

    data = stored_bytes(zipped)
    assert data[:2] == b"\x1f\x8b"
    assert gzip.decompress(data) == stored_bytes(plain)
    assert zipped.sha256 == hashlib.sha256(data).hexdigest()
    assert zipped.file_name.endswith(".csv.gz")
    assert len(read_feed_csv(gzip.decompress(data))) == len(products)


def test_without_vendor_every_vendor_is_exported(run_export):
    ProductFactory(sku="A-1", vendor=VendorFactory(code="a"))
    ProductFactory(sku="B-1", vendor=VendorFactory(code="b"))

    job = run_export()

    assert {row["sku"] for row in read_feed_csv(file_bytes(job))} == {"A-1", "B-1"}
    assert "all-vendors" in job.file_name


def test_only_the_chosen_vendor_is_exported(run_export):
    mine, theirs = VendorFactory(), VendorFactory()
    ProductFactory(vendor=mine, sku="MINE")
    ProductFactory(vendor=theirs, sku="THEIRS")

    assert [row["sku"] for row in read_feed_csv(file_bytes(run_export(vendor=mine)))] == ["MINE"]


def test_availability_filter(run_export):
    vendor = VendorFactory()
    ProductFactory(vendor=vendor, sku="IN", availability=Product.Availability.IN_STOCK)
    ProductFactory(vendor=vendor, sku="OUT", availability=Product.Availability.OUT_OF_STOCK)

    job = run_export(vendor=vendor, availability=Product.Availability.OUT_OF_STOCK)

    assert [row["sku"] for row in read_feed_csv(file_bytes(job))] == ["OUT"]
    assert job.get_details()["filters"]["availability"] == "out_of_stock"


def test_updated_since_filter(run_export):
    vendor = VendorFactory()
    old = ProductFactory(vendor=vendor, sku="OLD")
    ProductFactory(vendor=vendor, sku="NEW")
    Product.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=10))

    job = run_export(vendor=vendor, updated_since=timezone.now() - timedelta(days=1))

    assert [row["sku"] for row in read_feed_csv(file_bytes(job))] == ["NEW"]


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_empty_catalogue_gives_a_valid_empty_file_with_a_warning(run_export, fmt):
    job = run_export(vendor=VendorFactory(), format=fmt)

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert job.row_count == 0
    data = file_bytes(job)
    if fmt == "csv":
        assert read_feed_csv(data) == []
        assert data.startswith(b"id,title,")
    else:
        import defusedxml.ElementTree as SafeET

        assert SafeET.fromstring(data).find("channel").findall("item") == []
    assert job.get_details()["download_url"]


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_many_batches_write_every_row_once_and_report_rows(run_export, monkeypatch, fmt):
    monkeypatch.setattr(feeds, "BATCH_ROWS", 4)
    vendor = VendorFactory()
    ProductFactory.create_batch(11, vendor=vendor)
    reported = []
    real_progress = ProductExportJob.execute

    def spy(job, progress):
        def recording(percent=None, message=None, **kwargs):
            reported.append(message)
            return progress(percent, message, force=True)

        return real_progress(job, recording)

    monkeypatch.setattr(ProductExportJob, "execute", spy)

    job = run_export(vendor=vendor, format=fmt)

    data = file_bytes(job)
    count = len(read_feed_csv(data)) if fmt == "csv" else data.count(b"<item>")
    assert job.row_count == count == 11
    assert [m for m in reported if "rows written" in m][:3] == [
        "4 of 11 rows written",
        "8 of 11 rows written",
        "11 of 11 rows written",
    ]


def test_cancel_during_export_leaves_no_file(run_export, monkeypatch, settings):
    monkeypatch.setattr(feeds, "BATCH_ROWS", 2)
    vendor = VendorFactory()
    ProductFactory.create_batch(6, vendor=vendor)
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
    assert job.get_details()["download_url"] is None
    root = settings.PRIVATE_STORAGE_ROOT
    assert [p for p in root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("gzip_file", [False, True])
def test_checksum_and_size_match_the_file_written_in_small_blocks(run_export, monkeypatch, gzip_file):
    # Tiny blocks send every write through the hashing thread, in many pieces.
    monkeypatch.setattr("exports.services.WRITE_BUFFER", 64)
    monkeypatch.setattr("exports.services.WRITE_AHEAD", 2)
    vendor = VendorFactory()
    products = ProductFactory.create_batch(30, vendor=vendor)

    job = run_export(vendor=vendor, gzip=gzip_file)

    data = stored_bytes(job)
    assert job.status == TaskStatus.COMPLETED
    assert job.file_size == len(data)
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    feed = gzip.decompress(data) if gzip_file else data
    assert len(read_feed_csv(feed)) == len(products)
    assert not [t for t in threading.enumerate() if t.name.startswith("export-writer")]


def test_a_write_error_in_the_hashing_thread_fails_the_job_and_leaves_no_file(run_export, monkeypatch, settings):
    monkeypatch.setattr("exports.services.WRITE_BUFFER", 64)
    vendor = VendorFactory()
    ProductFactory.create_batch(20, vendor=vendor)

    def disk_full(self, data):
        raise OSError("No space left on device")

    monkeypatch.setattr("exports.services._HashingWriter._write", disk_full)

    job = run_export(vendor=vendor)

    assert job.status == TaskStatus.FAILED
    assert "No space left on device" in job.error_message
    assert [p for p in settings.PRIVATE_STORAGE_ROOT.rglob("*") if p.is_file()] == []
    assert not [t for t in threading.enumerate() if t.name.startswith("export-writer")]


def test_a_failing_export_fails_the_job_and_leaves_no_file(run_export, monkeypatch, settings):
    vendor = VendorFactory()
    ProductFactory(vendor=vendor)

    def broken(**kwargs):
        kwargs["out"].write(b"half a feed")
        raise OSError("No space left on device")

    monkeypatch.setattr("exports.services.write_feed", broken)

    job = run_export(vendor=vendor)

    assert job.status == TaskStatus.FAILED
    assert "No space left on device" in job.error_message
    assert [p for p in settings.PRIVATE_STORAGE_ROOT.rglob("*") if p.is_file()] == []


def test_the_file_appears_only_when_complete(run_export, monkeypatch, settings):
    monkeypatch.setattr(feeds, "BATCH_ROWS", 2)
    vendor = VendorFactory()
    ProductFactory.create_batch(5, vendor=vendor)
    seen_while_writing = []
    real_execute = ProductExportJob.execute

    def watching(job, progress):
        def looking(percent=None, message=None, **kwargs):
            if message and "rows written" in message:
                files = [p for p in (settings.PRIVATE_STORAGE_ROOT / "exports").rglob("*") if p.is_file()]
                seen_while_writing.append(sorted(p.parent.name for p in files))
            return progress(percent, message, **kwargs)

        return real_execute(job, looking)

    monkeypatch.setattr(ProductExportJob, "execute", watching)

    job = run_export(vendor=vendor)

    # While rows are written, the only file is the partial one, outside the finished files' folder.
    assert seen_while_writing and all(files == [".partial"] for files in seen_while_writing)
    assert private_storage().exists(job.file_name)
    assert list((settings.PRIVATE_STORAGE_ROOT / "exports" / ".partial").iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_interleaved_vendors_give_every_row_of_one_vendor_once(run_export, monkeypatch, fmt):
    monkeypatch.setattr(feeds, "BATCH_ROWS", 3)
    mine, theirs = VendorFactory(), VendorFactory()
    for n in range(10):
        ProductFactory(vendor=mine, sku=f"MINE-{n:02d}")
        ProductFactory.create_batch(n % 3, vendor=theirs)

    job = run_export(vendor=mine, format=fmt)

    data = file_bytes(job)
    skus = [row["sku"] for row in read_feed_csv(data)] if fmt == "csv" else re.findall(r"<g:id>(.*?)</g:id>", data.decode())
    assert skus == [f"MINE-{n:02d}" for n in range(10)]
    assert job.row_count == 10


@pytest.mark.parametrize(
    ("rows", "first", "last", "batch", "ranges"),
    [
        (0, None, None, 5, []),
        (1, 7, 7, 5, [(7, 7)]),
        (10, 1, 10, 5, [(1, 5), (6, 10)]),
        (11, 1, 11, 5, [(1, 4), (5, 8), (9, 11)]),
        (3, 1, 1_000_000, 5, [(1, 1_000_000)]),
    ],
)
def test_id_ranges_cover_every_id_once(rows, first, last, batch, ranges):
    assert feeds.FeedSize(rows=rows, first_id=first, last_id=last).id_ranges(batch) == ranges
