"""A newcomer's first run: `make run`, log in, the demo's jobs, then an import followed live from its page."""
from __future__ import annotations

import re
import sqlite3
import time

import pytest
from playwright.sync_api import expect

from wizamart.demo.management.commands.load_demo_jobs import DEMO_FEED, DEMO_FEED_VENDOR, DEMO_ORDERS_VENDOR

# Starts its own server with its own SQLite file: runs once, in the phase that has Chromium.
pytestmark = [pytest.mark.browser]

UNIFIED_PAGE = "/admin/background_tasks/unifiedtask/"
IMPORT_PAGE = "/admin/imports/marketplaceimportjob/"
ORDER_IMPORT_PAGE = "/admin/imports/letzshophistoricalimportjob/"
# The fake Letzshop API `make run` starts: 500 shipments a vendor, every 50th unusable.
DEMO_SHIPMENTS, DEMO_REJECTED = 500, 10
WAIT_MS = 60_000
FOLLOW_TIMEOUT = 180.0
DEMO_TYPES = ("Product import", "Product export", "Subscription maintenance run")


class BrowserTrouble:
    """Every error response, console error and page error any page of the context met."""

    def __init__(self, context):
        self.lines: list[str] = []
        context.on("response", self._response)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.lines.append(f"page error: {error.error}"))

    def _response(self, response):
        if response.status >= 400:
            self.lines.append(f"{response.status} {response.request.method} {response.url}")

    def _console(self, message):
        if message.type == "error":
            self.lines.append(f"console error: {message.text} ({message.location.get('url', '')})")


def assert_no_trouble(trouble: BrowserTrouble, first_run) -> None:
    """No error response, console error or page error in the browser; nothing broken in the server's log."""
    assert trouble.lines == [], "the browser met errors:\n" + "\n".join(trouble.lines)
    assert first_run.troubles() == [], "the server's log shows trouble:\n" + "\n".join(first_run.troubles())


def log_in(page, url: str) -> None:
    """Log in with the login `make run` prints (ensure_admin's default)."""
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/$"))


def assert_styled(page) -> None:
    """The admin's stylesheet is applied: its header has a background, bare HTML has none."""
    background = page.evaluate("getComputedStyle(document.getElementById('header')).backgroundColor")
    assert background not in ("", "rgba(0, 0, 0, 0)", "transparent"), f"unstyled page {page.url}"


def vendor_id(database, code: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT id FROM marketplace_vendor WHERE code = ?", [code]).fetchone()[0]


def card_state(card) -> dict:
    return card.evaluate(
        """node => ({
            status: node.querySelector('.bg-status').textContent.trim(),
            percent: parseInt(node.querySelector('.bg-percent-text').textContent) || 0,
            message: node.querySelector('.bg-message').textContent.trim(),
            summary: node.querySelector('.bg-card-summary').textContent.trim(),
        })"""
    )


def follow_card(card, timeout: float = FOLLOW_TIMEOUT) -> list[dict]:
    """Sample what the card shows until its results summary appears; return each distinct state seen."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = card_state(card)
        if not seen or state != seen[-1]:
            seen.append(state)
        if state["summary"]:
            return seen
        time.sleep(0.2)
    pytest.fail(f"no results summary within {timeout:.0f}s; the card showed {seen}")


def job_link(row):
    return row.locator("a", has_text=re.compile(r"^#\d+$"))


def open_demo_jobs(page, url: str, screenshot) -> None:
    """The unified page holds the demo's finished jobs; the import's page shows its warnings and report."""
    page.goto(url + UNIFIED_PAGE)
    assert_styled(page)
    rows = page.locator("#result_list tbody tr")
    for task_type in DEMO_TYPES:
        expect(rows.filter(has_text=task_type)).to_have_count(1)
    demo_import = rows.filter(has_text="Product import")
    expect(demo_import.locator(".bg-status")).to_have_text("Completed with warnings")
    screenshot(page, "unified")

    job_link(demo_import).click()
    expect(page.locator(".bg-card-summary")).to_contain_text("3 rejected")
    report = page.get_by_role("link", name=re.compile("error report", re.I))
    response = page.request.get(url + report.get_attribute("href"))
    assert response.status == 200 and b"error" in response.body().splitlines()[0]
    screenshot(page, "demo-import")

    page.goto(url + UNIFIED_PAGE)
    job_link(rows.filter(has_text="Product export")).click()
    download = page.locator(".bg-card-summary a[download]")
    response = page.request.get(url + download.get_attribute("href"))
    assert response.status == 200 and response.body().startswith(b"id,title")


def import_demo_feed(page, first_run) -> int:
    """Start an import of the demo feed from the import's page, as staff do; return its job id."""
    page.goto(first_run.url + IMPORT_PAGE)
    page.click("a.bg-trigger")
    page.fill("#id_vendor", str(vendor_id(first_run.database, DEMO_FEED_VENDOR)))
    page.set_input_files("#id_upload", str(DEMO_FEED))
    page.click("input.bg-start")
    # The upload's columns and first rows: the demo feed's usual columns are prefilled.
    page.wait_for_url(re.compile(r".*/admin/imports/marketplaceimportjob/add/columns/\?upload=.+"))
    page.click("input.bg-start")
    page.wait_for_url(re.compile(r".*/admin/imports/marketplaceimportjob/#job-\d+$"))
    return int(page.url.rsplit("-", 1)[1])


def import_demo_orders(page, first_run) -> int:
    """Import the demo order vendor's orders from the fake Letzshop API `make run` started; return the job id."""
    page.goto(first_run.url + ORDER_IMPORT_PAGE)
    page.click("a.bg-trigger")
    page.fill("#id_vendor", str(vendor_id(first_run.database, DEMO_ORDERS_VENDOR)))
    page.click("input.bg-start")
    page.wait_for_url(re.compile(r".*/admin/imports/letzshophistoricalimportjob/#job-\d+$"))
    return int(page.url.rsplit("-", 1)[1])


def assert_followed_live(seen: list[dict]) -> None:
    running = [state for state in seen if state["status"] == "Running"]
    assert len({(state["percent"], state["message"]) for state in running}) >= 2, f"the indicator never moved: {seen}"
    assert max(state["percent"] for state in running) > 0, seen
    final = seen[-1]
    assert final["status"] == "Completed with warnings", seen
    assert "26 rows" in final["summary"] and "3 rejected" in final["summary"], final


def test_make_run_serves_a_working_admin_with_the_demo_jobs(first_run, chromium, screenshot):
    expect.set_options(timeout=WAIT_MS)
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    trouble = BrowserTrouble(context)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        log_in(page, first_run.url)
        page.wait_for_load_state("networkidle")
        assert_no_trouble(trouble, first_run)
        assert_styled(page)
        open_demo_jobs(page, first_run.url, screenshot)
        assert_no_trouble(trouble, first_run)

        # The unified page stays open beside the import's page: it must show the new job without a reload.
        unified = context.new_page()
        unified.goto(first_run.url + UNIFIED_PAGE)
        unified.evaluate("window.notReloaded = true")

        job_id = import_demo_feed(page, first_run)
        page.evaluate("window.notReloaded = true")
        seen = follow_card(page.locator(f'#bg-task-panel .bg-card[data-job-id="{job_id}"]'))
        screenshot(page, "import-finished")
        assert_followed_live(seen)
        assert page.evaluate("window.notReloaded") is True

        new_row = unified.locator("#result_list tbody tr", has=unified.locator("a", has_text=re.compile(rf"^#{job_id}$")))
        expect(new_row.locator(".bg-status")).to_have_text("Completed with warnings")
        assert unified.evaluate("window.notReloaded") is True
        screenshot(unified, "unified-after-import")

        # An order import end to end: the demo vendor's key, the fake Letzshop API beside the server.
        order_job = import_demo_orders(page, first_run)
        seen = follow_card(page.locator(f'#bg-task-panel .bg-card[data-job-id="{order_job}"]'))
        screenshot(page, "order-import-finished")
        final = seen[-1]
        assert final["status"] == "Completed with warnings", seen
        assert f"{DEMO_SHIPMENTS - DEMO_REJECTED} created" in final["summary"], final
        assert f"{DEMO_REJECTED} rejected" in final["summary"], final
    finally:
        context.close()

    assert_no_trouble(trouble, first_run)
