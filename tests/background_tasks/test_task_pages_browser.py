"""The task pages in headless Chromium against the live server, with jobs running in the real pool."""
import re

import pytest
from playwright.sync_api import expect

from background_tasks.models import AdminNotification
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PAGE = "/admin/testapp/demojob/"
UNIFIED_PAGE = "/admin/background_tasks/unifiedtask/"


def start_demo_job(**fields) -> DemoJob:
    """Create a job the way any trigger does; it is dispatched to the pool at once (no transaction)."""
    return background_task_create(model=DemoJob, triggered_by="manual:browser-test", **fields)


def card(page, job_id: int):
    return page.locator(f'#bg-task-panel .bg-card[data-job-id="{job_id}"]')


def percent_of(locator) -> int:
    return int(locator.locator(".bg-percent-text").inner_text().rstrip("%"))


def test_trigger_shows_running_indicator_moving_then_summary(admin_page, live_jobs, screenshot):
    page = admin_page
    page.goto(live_jobs.url + DEMO_PAGE)
    page.click("a.bg-trigger")
    page.fill("#id_steps", "12")
    page.click("input.bg-start")

    page.wait_for_url(re.compile(r".*/admin/testapp/demojob/#job-\d+$"))
    job = DemoJob.objects.get()
    follow = card(page, job.pk)
    expect(follow.locator(".bg-status")).to_have_text("Running")
    expect(follow.locator(".bg-spinner")).to_be_visible()
    expect(follow.locator(".bg-cancel")).to_be_visible()
    expect(follow.locator(".bg-elapsed")).to_have_text(re.compile(r"^\d+s$"))
    page.wait_for_function(
        "el => parseInt(el.textContent) > 0", arg=follow.locator(".bg-percent-text").element_handle()
    )
    first = percent_of(follow)
    screenshot(page, "running")

    # The indicator moves forward without a reload, up to the results summary.
    page.wait_for_function(
        "([el, first]) => parseInt(el.textContent) > first",
        arg=[follow.locator(".bg-percent-text").element_handle(), first],
    )
    expect(follow).to_have_class(re.compile(r"\bbg-tone-success\b"))
    expect(follow.locator(".bg-summary")).to_contain_text("12 steps done.")
    expect(follow.locator(".bg-summary a", has_text="Report")).to_have_attribute("href", f"/admin/testapp/demojob/{job.pk}/change/")
    expect(follow.locator(".bg-spinner")).to_be_hidden()
    expect(follow.locator(".bg-cancel")).to_be_hidden()
    screenshot(page, "completed")
    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED


def test_banner_resumes_following_active_jobs_when_coming_back(admin_page, live_jobs, screenshot):
    page = admin_page
    page.goto(live_jobs.url + DEMO_PAGE)
    first = start_demo_job(steps=15)
    second = start_demo_job(steps=15)

    # Away from the page while the jobs run, then back: the banner finds both.
    page.goto(live_jobs.url + "/admin/")
    page.goto(live_jobs.url + DEMO_PAGE)

    for job in (first, second):
        expect(card(page, job.pk).locator(".bg-status")).to_have_text(re.compile("Pending|Running"))
    expect(page.locator("#bg-task-panel .bg-panel-title")).to_have_text("2 jobs in progress")
    expect(card(page, first.pk).locator(".bg-status")).to_have_text("Running")
    screenshot(page, "banner")


def test_failure_shows_error_message_and_unread_notification(admin_page, live_jobs, screenshot):
    page = admin_page
    job = start_demo_job(steps=6, fail_at_step=3)
    page.goto(live_jobs.url + DEMO_PAGE)
    expect(page.locator("#bg-notifications .bg-unread")).to_have_text("0")

    follow = card(page, job.pk)
    expect(follow).to_have_class(re.compile(r"\bbg-tone-failure\b"))
    expect(follow.locator(".bg-status")).to_have_text("Failed")
    expect(follow.locator(".bg-error-message")).to_have_text("Step 4 broke: the demo job was told to fail here")
    screenshot(page, "failed")

    # The job's own page shows the same summary.
    follow.locator(".bg-summary-link a").click()
    job_card = card(page, job.pk)
    expect(job_card.locator(".bg-error-message")).to_have_text("Step 4 broke: the demo job was told to fail here")
    screenshot(page, "job-page")

    page.reload()
    expect(page.locator("#bg-notifications .bg-unread")).to_have_text("1")
    screenshot(page, "unread-notification")
    page.click("#bg-notifications")
    expect(page.locator("#result_list")).to_contain_text(f"Demo job #{job.pk} failed")
    assert AdminNotification.objects.filter(job_id=job.pk, read_at__isnull=True).count() == 1


def test_warnings_summary_looks_distinct(admin_page, live_jobs, screenshot):
    page = admin_page
    job = start_demo_job(steps=2, warnings=["3 rows skipped"])
    page.goto(live_jobs.url + DEMO_PAGE + f"#job-{job.pk}")

    follow = card(page, job.pk)
    expect(follow).to_have_class(re.compile(r"\bbg-tone-warnings\b"))
    expect(follow.locator(".bg-status")).to_have_text("Completed with warnings")
    expect(follow.locator(".bg-summary")).to_contain_text("Warnings: 3 rows skipped.")
    screenshot(page, "warnings")


def test_cancel_button_stops_a_running_job(admin_page, live_jobs, screenshot):
    page = admin_page
    job = start_demo_job(steps=40)
    page.goto(live_jobs.url + DEMO_PAGE)

    follow = card(page, job.pk)
    expect(follow.locator(".bg-status")).to_have_text("Running")
    follow.locator(".bg-cancel").click()

    expect(follow.locator(".bg-status")).to_have_text("Cancelled")
    expect(follow).to_have_class(re.compile(r"\bbg-tone-cancelled\b"))
    screenshot(page, "cancelled")
    job.refresh_from_db()
    assert job.status == TaskStatus.CANCELLED
    assert job.steps_done < 40


def test_failed_polls_back_off_and_recover(admin_page, live_jobs, screenshot):
    page = admin_page
    job = start_demo_job(steps=12)
    page.goto(live_jobs.url + DEMO_PAGE)
    follow = card(page, job.pk)
    expect(follow.locator(".bg-status")).to_have_text("Running")

    page.route(re.compile(r".*/api/v1/admin/background-tasks/\d+$"), lambda route: route.abort())
    expect(follow.locator(".bg-connection")).to_contain_text("Cannot reach the server; trying again in")
    screenshot(page, "offline")
    page.unroute(re.compile(r".*/api/v1/admin/background-tasks/\d+$"))

    expect(follow).to_have_class(re.compile(r"\bbg-tone-success\b"), timeout=60_000)
    expect(follow.locator(".bg-connection")).to_be_hidden()


def test_unified_page_updates_without_reload(admin_page, live_jobs, screenshot):
    page = admin_page
    job = start_demo_job(steps=10)
    page.goto(live_jobs.url + UNIFIED_PAGE)
    page.evaluate("window.loadedOnce = true")

    badge = page.locator(f'#result_list .bg-status[data-job-id="{job.pk}"]')
    row = page.locator("#result_list tr", has=page.locator(f'.bg-status[data-job-id="{job.pk}"]'))
    expect(badge).to_have_text(re.compile("Pending|Running"))
    expect(badge).to_have_text("Running")
    expect(row.locator("td.field-progress_message")).to_have_text(re.compile(r"Step \d+ of 10"))
    screenshot(page, "running")

    expect(badge).to_have_text("Completed")
    expect(row.locator(".bg-percent")).to_have_text("100%")
    expect(page.locator('#bg-counts .bg-count[data-task-type="demo_job"][data-status="completed"]')).to_have_text("1")
    assert page.evaluate("window.loadedOnce") is True
    screenshot(page, "completed")
