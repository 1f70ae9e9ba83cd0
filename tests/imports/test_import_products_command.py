"""The import_products command: a file or URL, --dry-run, --wait with progress, clear errors."""
import pytest
from django.core.management import CommandError, call_command

from imports.models import MarketplaceImportJob
from tests.factories import VendorFactory
from wizamart.marketplace.models import Product

FEED = "id,title,price,quantity\nC-1,Carafe,18 EUR,2\nC-2,Verre,4 EUR,x\n"


@pytest.fixture
def feed_file(tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_text(FEED, encoding="utf-8")
    return path


@pytest.mark.django_db(transaction=True)
def test_command_imports_and_reports(feed_file, capsys):
    vendor = VendorFactory(code="cave")

    call_command("import_products", str(feed_file), "--vendor", "cave", "--wait")

    out = capsys.readouterr().out
    job = MarketplaceImportJob.objects.get()
    assert "completed with warnings" in out
    assert "Rows: 2 total, 1 created, 0 updated, 0 unchanged, 1 rejected." in out
    assert "line 3: quantity 'x' is not a whole number" in out
    assert f"Error report: /api/v1/imports/products/{job.pk}/error-report" in out
    assert job.triggered_by.startswith("cli:")
    assert job.source_name == "catalogue.csv"
    assert list(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == ["C-1"]


@pytest.mark.django_db(transaction=True)
def test_command_dry_run_writes_nothing(feed_file, capsys):
    VendorFactory(code="cave")

    call_command("import_products", str(feed_file), "--vendor", "cave", "--dry-run", "--wait")

    assert "1 would be created" in capsys.readouterr().out
    assert not Product.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_command_fails_on_an_unusable_file(tmp_path):
    VendorFactory(code="cave")
    path = tmp_path / "bad.csv"
    path.write_text("id,title\nA,B\n")

    with pytest.raises(CommandError, match="The required column 'price' is missing"):
        call_command("import_products", str(path), "--vendor", "cave", "--wait")


@pytest.mark.django_db
def test_command_refuses_an_unknown_vendor(feed_file):
    with pytest.raises(CommandError, match='No vendor with code "nobody".'):
        call_command("import_products", str(feed_file), "--vendor", "nobody")
    assert not MarketplaceImportJob.objects.exists()


@pytest.mark.django_db
def test_command_refuses_a_missing_file(tmp_path):
    VendorFactory(code="cave")

    with pytest.raises(CommandError, match="No such file: "):
        call_command("import_products", str(tmp_path / "absent.csv"), "--vendor", "cave")


@pytest.mark.django_db
def test_command_refuses_a_non_http_url():
    VendorFactory(code="cave")

    with pytest.raises(CommandError, match=r"Only http and https URLs can be imported \(got 'ftp'\)."):
        call_command("import_products", "ftp://feeds.example.com/a.csv", "--vendor", "cave")


@pytest.mark.django_db(transaction=True)
def test_command_is_not_held_to_the_web_upload_limit(feed_file, settings, capsys):
    settings.IMPORTS_MAX_UPLOAD_SIZE = 10  # the web upload limit; a local file is not held to it
    VendorFactory(code="cave")

    call_command("import_products", str(feed_file), "--vendor", "cave", "--dry-run", "--wait")

    job = MarketplaceImportJob.objects.get()
    assert job.source_name == "catalogue.csv" and job.source_file.startswith("imports/feeds/")
    assert job.dry_run and job.rows_total == 2
    assert f"Queued product import #{job.pk} for cave." in capsys.readouterr().out


@pytest.mark.django_db
def test_command_refuses_an_empty_file_like_the_api(tmp_path):
    VendorFactory(code="cave")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    with pytest.raises(CommandError, match="The submitted file is empty."):
        call_command("import_products", str(empty), "--vendor", "cave")
    assert not MarketplaceImportJob.objects.exists()
