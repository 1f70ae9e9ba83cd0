"""The column mapping screen in headless Chromium: a clerk maps an unknown export, imports it, and the next one is prefilled;
an upload pruned meanwhile asks for the file again."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from background_tasks.models import PendingUpload
from background_tasks.retention import retention_prune
from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob, VendorColumnMapping
from tests.conftest import CLERK_PERMISSIONS
from tests.factories import LimitedStaffFactory, VendorFactory
from tests.fixtures.browser import STAFF_PASSWORD
from wizamart.marketplace.models import Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADD_PAGE = "/admin/imports/marketplaceimportjob/add/"
HEADER = "Artikelnummer;Bezeichnung;Preis;Lagerbestand;Intern"
FIRST = f"{HEADER}\nA-1;Fahrradlampe;12,50 EUR;4;x\nA-2;Klingel;3.20 EUR;0;y\n"
SECOND = f"{HEADER}\nA-1;Fahrradlampe LED;14 EUR;2;x\nA-3;Sattel;40 EUR;1;z\n"


@pytest.fixture
def clerk_page(chromium, live_jobs):
    """A browser logged in as a staff clerk who is not a superuser."""
    expect.set_options(timeout=30_000)
    user = LimitedStaffFactory(password=STAFF_PASSWORD, permissions=CLERK_PERMISSIONS)
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_jobs.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/$"))
    yield page
    context.close()


def upload(page, base_url: str, vendor, path) -> None:
    page.goto(base_url + ADD_PAGE)
    page.fill("#id_vendor", str(vendor.pk))
    page.set_input_files("#id_upload", str(path))
    page.click("input.bg-start")
    page.wait_for_url(re.compile(r".*/add/columns/\?upload=.+"))


def column_select(page, index: int):
    return page.locator(f'select[name="columns-{index}-field"]')


def start_and_wait(page) -> MarketplaceImportJob:
    page.click("input.bg-start")
    page.wait_for_url(re.compile(r".*/admin/imports/marketplaceimportjob/#job-\d+$"))
    job_id = int(page.url.rsplit("-", 1)[1])
    card = page.locator(f'#bg-task-panel .bg-card[data-job-id="{job_id}"]')
    expect(card.locator(".bg-status")).to_have_text("Completed")
    return MarketplaceImportJob.objects.get(pk=job_id)


def test_clerk_maps_an_unknown_export_and_the_next_one_is_prefilled(clerk_page, live_jobs, tmp_path, screenshot):
    page = clerk_page
    vendor = VendorFactory(code="velo-esch")
    first, second = tmp_path / "export-1.csv", tmp_path / "export-2.csv"
    first.write_text(FIRST, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")

    # Given an export whose columns the import does not know: the mapping screen, not a failure.
    upload(page, live_jobs.url, vendor, first)
    expect(page.locator("#detected-format")).to_have_text("Unknown format")
    expect(page.locator("#source-columns td.source")).to_have_text(HEADER.split(";"))
    screenshot(page, "unknown-format")

    # When the clerk picks the key column and each column's field, then previews.
    page.select_option("#id_key_column", label="Artikelnummer")
    column_select(page, 1).select_option("title")
    column_select(page, 2).select_option("price")
    column_select(page, 3).select_option("quantity")
    page.click('input[name="_preview"]')
    rows = page.locator("#preview tr.preview-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td")).to_have_text(["2", "A-1", "Fahrradlampe", "12.50", "EUR", "4"])
    screenshot(page, "mapped-preview")

    # Then the import runs with that mapping, and keeps it for the vendor.
    job = start_and_wait(page)
    assert job.status == TaskStatus.COMPLETED
    assert {p.sku: (p.title, str(p.price), p.quantity) for p in Product.objects.filter(vendor=vendor)} == {
        "A-1": ("Fahrradlampe", "12.50", 4),
        "A-2": ("Klingel", "3.20", 0),
    }
    assert VendorColumnMapping.objects.get(vendor=vendor).mapping["Lagerbestand"] == "quantity"

    # The next export with the same columns comes prefilled with the saved mapping.
    upload(page, live_jobs.url, vendor, second)
    expect(page.locator("#saved-mapping")).to_be_visible()
    expect(page.locator("#id_key_column option:checked")).to_have_text("Artikelnummer")
    for index, field in ((1, "title"), (2, "price"), (3, "quantity"), (4, "")):
        expect(column_select(page, index)).to_have_value(field)
    expect(page.locator("#preview tr.preview-row").nth(1).locator("td")).to_have_text(["3", "A-3", "Sattel", "40.00", "EUR", "1"])
    screenshot(page, "prefilled")

    job = start_and_wait(page)
    assert (job.rows_created, job.rows_updated) == (1, 1)
    assert Product.objects.get(vendor=vendor, sku="A-1").title == "Fahrradlampe LED"


def test_an_upload_pruned_while_the_screen_was_open_asks_for_the_file_again(clerk_page, live_jobs, tmp_path):
    page = clerk_page
    vendor = VendorFactory(code="velo-esch")
    feed = tmp_path / "export.csv"
    feed.write_text(FIRST, encoding="utf-8")
    upload(page, live_jobs.url, vendor, feed)
    page.select_option("#id_key_column", label="Artikelnummer")

    # The clerk leaves the screen open past the limit; the nightly prune deletes the upload.
    PendingUpload.objects.update(stored_at=timezone.now() - timedelta(hours=25))
    assert retention_prune().pending_uploads == 1

    page.click("input.bg-start")
    page.wait_for_url(re.compile(r".*/admin/imports/marketplaceimportjob/add/$"))
    expect(page.locator(".messagelist .error")).to_have_text("The uploaded file has expired; upload it again.")
    expect(page.locator("#id_upload")).to_be_visible()
    assert not MarketplaceImportJob.objects.exists()


def test_a_google_merchant_xml_feed_imports_without_the_mapping_screen(clerk_page, live_jobs, screenshot):
    page = clerk_page
    vendor = VendorFactory(code="velo-esch")
    feed = Path(__file__).parent / "xml" / "google-merchant-rss.xml"

    page.goto(live_jobs.url + ADD_PAGE)
    page.fill("#id_vendor", str(vendor.pk))
    page.set_input_files("#id_upload", str(feed))
    page.click("input.bg-start")

    # Google's attributes name the fields: the import starts at once and the page follows it.
    page.wait_for_url(re.compile(r".*/admin/imports/marketplaceimportjob/#job-\d+$"))
    job_id = int(page.url.rsplit("-", 1)[1])
    card = page.locator(f'#bg-task-panel .bg-card[data-job-id="{job_id}"]')
    expect(card.locator(".bg-status")).to_have_text("Completed with warnings")
    screenshot(page, "xml-feed-imported")
    assert Product.objects.filter(vendor=vendor).count() == 4
