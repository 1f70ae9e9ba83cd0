"""The task pages in headless Chromium against the live server, with jobs running in the real pool."""
import re
from urllib.parse import parse_qs, urlsplit

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
    expect(follow).to_have_class(re.compile(r"\bbg-tone-stopped\b"))
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


ROW_POLL = re.compile(r"/api/v1/admin/background-tasks/?(\?.*)?$")
JOB_POLL = re.compile(r"/api/v1/admin/background-tasks/\d+/?$")


def first_row_badge(page):
    return page.locator("#result_list tbody tr").first.locator(".bg-status[data-job-id]")


def test_unified_page_follows_all_rows_with_one_request_per_tick(admin_page, live_jobs, screenshot):
    page = admin_page
    jobs = [start_demo_job(steps=60) for _ in range(3)]
    wanted = {str(job.pk) for job in jobs}
    seen = []
    page.on("request", lambda request: seen.append(request.url))

    page.goto(live_jobs.url + UNIFIED_PAGE)
    # Three ticks of the row poller (the first at load, then one every 3 s).
    for _ in range(3):
        with page.expect_request(lambda request: bool(ROW_POLL.search(request.url.split("#")[0]))):
            pass
    screenshot(page, "three-rows-one-request")

    row_polls = [url for url in seen if ROW_POLL.search(url)]
    assert len(row_polls) >= 3
    # Every tick is one request that asks for all the active rows; no request per job at all.
    for url in row_polls[:3]:
        query = parse_qs(urlsplit(url).query)
        assert set(query["ids"][0].split(",")) == wanted
        assert query["after"] == [str(max(job.pk for job in jobs))]
    assert [url for url in seen if JOB_POLL.search(url)] == []


def test_job_started_after_load_appears_at_the_top_and_moves(admin_page, live_jobs, screenshot):
    page = admin_page
    older = start_demo_job(steps=1)
    page.goto(live_jobs.url + UNIFIED_PAGE)
    page.evaluate("window.loadedOnce = true")
    expect(first_row_badge(page)).to_have_attribute("data-job-id", str(older.pk))

    newer = start_demo_job(steps=8)

    expect(first_row_badge(page)).to_have_attribute("data-job-id", str(newer.pk))
    top = page.locator("#result_list tbody tr").first
    expect(top.locator("td.field-job_link a")).to_have_attribute("href", f"/admin/testapp/demojob/{newer.pk}/change/")
    expect(top.locator("td.field-task_type_display")).to_have_text("Demo job")
    expect(top.locator("td.field-triggered_by")).to_have_text("manual:browser-test")
    expect(top.locator("td.action-checkbox input")).to_have_value(str(newer.pk))
    expect(top.locator(".bg-status")).to_have_text("Running")
    screenshot(page, "new-job-on-top")

    # The inserted row is followed like the others, up to its end.
    expect(top.locator(".bg-status")).to_have_text("Completed")
    expect(top.locator(".bg-percent")).to_have_text("100%")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#bg-new-jobs")).to_be_hidden()
    assert page.evaluate("window.loadedOnce") is True
    screenshot(page, "new-job-completed")


def test_other_orderings_only_offer_a_reload_for_new_jobs(admin_page, live_jobs, screenshot):
    page = admin_page
    older = start_demo_job(steps=1)
    page.goto(live_jobs.url + UNIFIED_PAGE + "?o=1")  # oldest job first
    expect(first_row_badge(page)).to_have_attribute("data-job-id", str(older.pk))

    start_demo_job(steps=2)
    start_demo_job(steps=2)

    expect(page.locator("#bg-new-jobs")).to_have_text("2 new jobs — reload")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    screenshot(page, "new-jobs-note")
    page.click("#bg-new-jobs a")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)


def test_failure_raises_the_header_count_without_a_reload(admin_page, live_jobs, settings, screenshot):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "UNREAD_POLL_SECONDS": 1}
    page = admin_page
    page.goto(live_jobs.url + "/admin/")
    page.evaluate("window.loadedOnce = true")
    expect(page.locator("#bg-notifications .bg-unread")).to_have_text("0")

    start_demo_job(steps=3, fail_at_step=1)

    expect(page.locator("#bg-notifications .bg-unread")).to_have_text("1")
    expect(page.locator("#bg-notifications")).to_have_class(re.compile(r"\bbg-has-unread\b"))
    assert page.evaluate("window.loadedOnce") is True
    screenshot(page, "header-count-raised")


def test_hidden_tab_asks_for_the_count_again_when_shown(admin_page, live_jobs, settings):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "UNREAD_POLL_SECONDS": 600}
    page = admin_page
    page.goto(live_jobs.url + "/admin/")
    AdminNotification.objects.create(title="Demo job #1 failed")

    # The next poll is ten minutes away; coming back to the tab asks at once.
    with page.expect_request(re.compile(r".*/api/v1/admin/notifications/unread-count$")):
        page.evaluate(
            """() => {
                Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
                document.dispatchEvent(new Event("visibilitychange"));
                Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "visible"});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
    expect(page.locator("#bg-notifications .bg-unread")).to_have_text("1")
