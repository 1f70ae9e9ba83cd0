"""The task page in headless Chromium asks with If-None-Match, shows a 304 as "unchanged", and a 200 as news."""
import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PAGE = "/admin/testapp/demojob/"


def test_task_page_polls_conditionally(admin_page, live_jobs):
    # A job some worker runs (no worker here: the test moves it), so only the test changes its row.
    job = DemoJob.objects.create(
        triggered_by="manual:browser-test", status=TaskStatus.RUNNING, started_at=timezone.now(),
        progress_percent=30, progress_message="Step 2 of 5",
    )
    status_path = f"/api/v1/admin/background-tasks/{job.pk}"
    polls = []
    admin_page.on(
        "response",
        lambda response: polls.append((response.status, response.request.headers.get("if-none-match")))
        if response.url.endswith(status_path) else None,
    )

    admin_page.goto(f"{live_jobs.url}{DEMO_PAGE}#job-{job.pk}")
    card = admin_page.locator(f'#bg-task-panel .bg-card[data-job-id="{job.pk}"]')
    expect(card.locator(".bg-percent-text")).to_have_text("30%")

    # Nothing changes: the next polls send the ETag and get 304; the card keeps what it showed.
    deadline = time.monotonic() + 30
    while not any(status == 304 for status, _ in polls) and time.monotonic() < deadline:
        admin_page.wait_for_timeout(500)
    assert polls[0] == (200, None)
    assert any(status == 304 and etag for status, etag in polls[1:]), polls
    expect(card.locator(".bg-percent-text")).to_have_text("30%")
    expect(card.locator(".bg-message")).to_have_text("Step 2 of 5")
    expect(card.locator(".bg-status")).to_have_text("Running")

    # Progress moves: the poll answers 200 and the card follows, up to the end.
    DemoJob.objects.filter(pk=job.pk).update(progress_percent=60, progress_message="Step 4 of 5")
    expect(card.locator(".bg-percent-text")).to_have_text("60%")
    expect(card.locator(".bg-message")).to_have_text("Step 4 of 5")
    DemoJob.objects.filter(pk=job.pk).update(
        status=TaskStatus.COMPLETED, progress_percent=100, completed_at=timezone.now(), progress_message="Done"
    )
    expect(card).to_have_class(re.compile(r"\bbg-tone-success\b"))
    assert polls[-1][0] == 200
