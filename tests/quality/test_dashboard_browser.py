"""The "Code quality" page in headless Chromium: run all scans, follow them, leave and come back, read the results."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from background_tasks.status import TaskStatus
from quality.models import ArchitectureScan
from quality.scans.services import code_quality_scans_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DASHBOARD = "/admin/quality/architecturescan/dashboard/"


@pytest.fixture
def scanned_tree(fixture_tree, settings):
    """A small repository with one job-status literal (BG-002) and one csrf_exempt view (SEC-005)."""
    settings.QUALITY_SCAN_ROOT = str(fixture_tree.root)
    fixture_tree.app(
        "jobs",
        {
            "services.py": 'def finish(job):\n    job.status = "failed"\n',
            "views.py": "from django.views.decorators.csrf import csrf_exempt\n\n\n@csrf_exempt\ndef hook(request):\n    return None\n",
        },
    )
    return fixture_tree


def test_run_all_scans_follows_them_to_the_results(admin_page, live_jobs, scanned_tree, screenshot):
    page = admin_page
    page.goto(live_jobs.url + DASHBOARD)
    expect(page.locator("#cq-banner")).to_be_hidden()
    expect(page.locator('[data-chart="architecture"]')).to_contain_text("No finished scan yet.")

    with page.expect_request(lambda r: r.url.endswith("/scans/running") or "/status" in r.url):
        page.click("#cq-run-all")
    banner = page.locator("#cq-banner")
    expect(banner).to_be_visible()
    expect(page.locator("#cq-banner-title")).to_have_text("Scans running")
    expect(page.locator("#cq-banner-scans li")).to_have_count(3)
    expect(page.locator("#cq-run-all")).to_be_disabled()
    screenshot(page, "running")

    expect(page.locator("#cq-banner-title")).to_have_text("Scans finished", timeout=120_000)
    expect(page.locator("#cq-banner-scans li[data-status=completed_with_warnings]")).to_have_count(1)
    expect(page.locator("#cq-banner-scans li[data-status=completed]")).to_have_count(2)
    # The results part is fetched again: the findings are on the page without a reload.
    expect(page.locator('details[data-rule="BG-002"] summary')).to_contain_text("1 in 1 file")
    expect(page.locator('details[data-rule="BG-002"] li[data-file="jobs/services.py"]')).to_contain_text("2:")
    expect(page.locator('details[data-rule="SEC-005"] li[data-file="jobs/views.py"]')).to_contain_text("4:")
    expect(page.locator('[data-chart="architecture"] g[data-total="1"]')).to_have_count(1)
    expect(page.locator("#cq-run-all")).to_be_enabled()
    screenshot(page, "finished")
    assert sorted(ArchitectureScan.objects.values_list("validator_type", "status")) == [
        ("architecture", TaskStatus.COMPLETED_WITH_WARNINGS),
        ("performance", TaskStatus.COMPLETED),
        ("security", TaskStatus.COMPLETED),
    ]


def test_scans_carry_on_when_the_user_leaves_and_the_banner_finds_them_on_return(admin_page, live_jobs, scanned_tree, screenshot):
    page = admin_page
    scans = code_quality_scans_create(triggered_by="api:browser-test")

    page.goto(live_jobs.url + "/admin/")
    page.goto(live_jobs.url + DASHBOARD)

    expect(page.locator("#cq-banner")).to_be_visible()
    for scan in scans:
        expect(page.locator(f'#cq-banner-scans li[data-scan-id="{scan.pk}"]')).to_have_text(re.compile(r"(Pending|Running|Completed)"))
    screenshot(page, "back")
    expect(page.locator("#cq-banner-title")).to_have_text("Scans finished", timeout=120_000)
    expect(page.locator('details[data-rule="BG-002"]')).to_be_visible()
