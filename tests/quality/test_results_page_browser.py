"""The test-run pages in headless Chromium: start a run, follow it live, read its results failures first."""
import re

import pytest
from playwright.sync_api import expect

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from quality.models import TestRun

from .conftest import wait_for_end
from .helpers import FAILING

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "/admin/quality/testrun/"


def test_start_a_run_follow_it_and_read_its_results(admin_page, live_jobs, screenshot):
    # An earlier run of the same tests: the results page draws each test's history from both.
    earlier = background_task_create(model=TestRun, triggered_by="manual:browser-test", paths=[FAILING])
    wait_for_end(earlier, timeout=180)
    page = admin_page
    page.goto(live_jobs.url + PAGE)
    page.click("a.bg-trigger")
    page.fill("#id_paths_text", FAILING)
    page.click("input.bg-start")

    page.wait_for_url(re.compile(r".*/admin/quality/testrun/#job-\d+$"))
    run = TestRun.objects.exclude(pk=earlier.pk).get()
    follow = page.locator(f'#bg-task-panel .bg-card[data-job-id="{run.pk}"]')
    expect(follow.locator(".bg-status")).to_have_text("Completed with warnings", timeout=180_000)
    expect(follow.locator(".bg-summary")).to_contain_text("3 of 5 tests failed")
    expect(follow.locator(".bg-summary")).to_contain_text("2 failed, 1 error, 2 passed")
    screenshot(page, "finished")

    follow.locator("a.test-run-results-link").click()
    page.wait_for_url(re.compile(rf".*/admin/quality/testrun/{run.pk}/results/$"))
    rows = page.locator("tr.test-result")
    expect(rows).to_have_count(5)
    assert [rows.nth(i).get_attribute("data-outcome") for i in range(5)] == ["failed", "failed", "error", "passed", "passed"]
    expect(rows.nth(0)).to_contain_text("test_assertion_fails")
    expect(rows.nth(0).locator(".duration")).to_have_text(re.compile(r"^\d+\.\d{3} s$"))
    # Two runs of each test so far: two bars in each history chart.
    expect(rows.nth(0).locator("svg.test-history rect")).to_have_count(2)
    rows.nth(1).locator("details summary").click()
    expect(rows.nth(1).locator("details pre")).to_contain_text("ValueError: the price must not be negative")
    screenshot(page, "results")

    page.click('.outcome-filter a[data-outcome="passed"]')
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_have_attribute("data-outcome", "passed")
    screenshot(page, "passed-only")
    run.refresh_from_db()
    assert run.status == TaskStatus.COMPLETED_WITH_WARNINGS
