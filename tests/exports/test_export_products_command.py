"""manage.py export_products: start an export, follow it, copy the file; clear errors for bad input."""
import pytest
from django.core.management import CommandError, call_command

from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from tests.factories import ProductFactory, VendorFactory

from .conftest import read_feed_csv, stored_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def vendor():
    vendor = VendorFactory(code="maison-lux")
    ProductFactory.create_batch(3, vendor=vendor)
    return vendor


def test_command_waits_and_copies_the_file(vendor, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "feed.csv"

    call_command("export_products", "--vendor", "maison-lux", "--format", "csv", "--output", str(target))

    job = ProductExportJob.objects.get()
    out = capsys.readouterr().out
    assert job.status == TaskStatus.COMPLETED
    assert job.triggered_by.startswith("cli:")
    assert f"product_export #{job.pk}" in out  # the progress bar
    assert "3 rows" in out
    assert target.read_bytes() == stored_bytes(job)
    assert len(read_feed_csv(target.read_bytes())) == 3
    assert [p.name for p in out_dir.iterdir()] == ["feed.csv"]  # no partial file left behind


def test_command_xml_gzip_with_filters(vendor, tmp_path):
    target = tmp_path / "feed.xml.gz"

    call_command(
        "export_products",
        "--vendor=maison-lux",
        "--format=xml",
        "--gzip",
        "--availability=in_stock",
        "--updated-since=2020-01-01",
        "--wait",
        f"--output={target}",
    )

    job = ProductExportJob.objects.get()
    assert (job.format, job.gzip, job.availability, job.updated_since.isoformat()) == (
        "xml",
        True,
        "in_stock",
        "2020-01-01T00:00:00+00:00",
    )
    assert target.read_bytes()[:2] == b"\x1f\x8b"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vendor", "nobody"], 'No vendor with code "nobody"'),
        (["--updated-since", "last week"], "is not a date"),
        (["--updated-since", "2026-02-30"], "is not a date"),
        (["--output", "/nonexistent-dir/feed.csv"], "cannot write into"),
    ],
)
def test_bad_input_is_a_command_error_and_no_job(vendor, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_products", *args)

    assert not ProductExportJob.objects.exists()


def test_output_that_is_a_directory_is_refused(vendor, tmp_path):
    with pytest.raises(CommandError, match="is a directory"):
        call_command("export_products", "--output", str(tmp_path))


def test_unknown_format_is_refused(vendor):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("export_products", "--format", "xlsx")
