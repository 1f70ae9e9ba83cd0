"""An XML feed goes in wherever a CSV feed does: the API upload and the import_products command."""
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from tests.factories import VendorFactory
from wizamart.marketplace.models import Product

SAMPLES = Path(__file__).parent / "xml"


@pytest.mark.django_db
def test_api_upload_of_an_rss_feed_imports_it(staff_client, vendor, django_capture_on_commit_callbacks):
    feed = SimpleUploadedFile("merchant-feed.xml", (SAMPLES / "google-merchant-rss.xml").read_bytes(), "application/xml")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/api/v1/imports/products", {"vendor": vendor.code, "file": feed}, format="multipart")

    assert response.status_code == 202
    details = staff_client.get(response.json()["status_url"]).json()
    assert details["status"] == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (details["details"]["rows_created"], details["details"]["rows_rejected"]) == (4, 1)
    assert details["details"]["rejected_rows"] == [{"line": 54, "sku": "VE-4004", "error": "missing price"}]
    assert details["details"]["error_report_url"]
    assert Product.objects.filter(vendor=vendor).count() == 4


@pytest.mark.django_db(transaction=True)
def test_command_imports_an_atom_feed(capsys):
    vendor = VendorFactory(code="cave")

    call_command("import_products", str(SAMPLES / "google-merchant-atom.xml"), "--vendor", "cave", "--wait")

    out = capsys.readouterr().out
    assert "Rows: 4 total, 3 created, 0 updated, 0 unchanged, 1 rejected." in out
    assert "line 36: empty sku (id)" in out
    assert MarketplaceImportJob.objects.get().file_info["format"] == "Google Merchant XML (Atom 1.0)"
    assert sorted(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == ["ML-1", "ML-2", "ML-4"]


@pytest.mark.django_db
def test_admin_summary_describes_the_xml_feed(admin_client, run_import):
    job = run_import((SAMPLES / "google-merchant-rss.xml").read_bytes())

    summary = admin_client.get(f"/admin/imports/marketplaceimportjob/{job.pk}/summary/").content.decode()

    assert "<tr><th>File</th><td>Google Merchant XML (RSS 2.0), 5 items; ignored elements: g:shipping, g:identifier_exists</td></tr>" in summary
    assert "<td>54</td><td>VE-4004</td><td>missing price</td>" in summary
