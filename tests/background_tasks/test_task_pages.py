"""The task pages through the Django test client: trigger, summary, unified list, notifications."""
import json
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from background_tasks.admin import CappedCountPaginator, UnifiedTaskAdmin, count_label
from background_tasks.models import AdminNotification, UnifiedTask
from background_tasks.selectors import COUNTS_CAP, background_tasks_service
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = pytest.mark.django_db

UNIFIED = "admin:background_tasks_unifiedtask_changelist"


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()


def page_config(response) -> dict:
    match = re.search(r'<script id="bg-task-config" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page carries no task-page configuration"
    return json.loads(match.group(1))


def run_job(run_on_commit, model=DemoJob, **fields):
    job = run_on_commit(background_task_create, model=model, triggered_by="manual:test", **fields)
    job.refresh_from_db()
    return job


def test_type_page_has_trigger_button_and_statuses_from_task_status(admin_client):
    response = admin_client.get(reverse("admin:testapp_demojob_changelist"))

    assert response.status_code == 200
    assert f'href="{reverse("admin:testapp_demojob_add")}" class="addlink bg-trigger">Run demo job<' in response.content.decode()
    config = page_config(response)
    assert config["terminal"] == [str(s) for s in TaskStatus.terminal()]
    assert config["active"] == [str(s) for s in TaskStatus.active()]
    assert config["taskType"] == "demo_job"
    assert config["discover"] is True
    assert config["summaryUrl"] == reverse("admin:testapp_demojob_summary", args=["__id__"])


def test_every_task_type_page_inherits_the_task_page(admin_client):
    response = admin_client.get(reverse("admin:marketplace_subscriptionmaintenancerun_changelist"))

    assert page_config(response)["taskType"] == "subscription_maintenance"
    assert ">Run subscription maintenance</a>" in response.content.decode()


def test_trigger_form_leaves_out_outcome_fields(admin_client, django_capture_on_commit_callbacks):
    add_url = reverse("admin:marketplace_subscriptionmaintenancerun_add")

    form = admin_client.get(add_url)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(add_url, {})

    assert 'name="counts"' not in form.content.decode()
    assert 'value="Run subscription maintenance"' in form.content.decode()
    run = SubscriptionMaintenanceRun.objects.get()
    assert response["Location"].endswith(f"#job-{run.pk}")
    assert run.status == TaskStatus.COMPLETED


def test_trigger_form_starts_job_and_lands_on_page_following_it(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:testapp_demojob_add"), {"steps": 2, "warnings": "[]"})

    job = DemoJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:testapp_demojob_changelist") + f"#job-{job.pk}"
    assert job.status == TaskStatus.COMPLETED
    assert job.triggered_by.startswith("manual:")


def test_trigger_form_has_one_start_button(admin_client):
    response = admin_client.get(reverse("admin:testapp_demojob_add"))

    body = response.content.decode()
    assert 'value="Run demo job"' in body
    assert "_addanother" not in body and "_continue" not in body


def test_trigger_form_rejects_bad_input_without_creating_a_job(admin_client):
    response = admin_client.post(reverse("admin:testapp_demojob_add"), {"steps": "many", "warnings": "[]"})

    assert response.status_code == 200
    assert "Enter a whole number" in response.content.decode()
    assert not DemoJob.objects.exists()


def test_change_page_follows_its_job(admin_client, run_on_commit):
    job = run_job(run_on_commit, steps=1)

    response = admin_client.get(reverse("admin:testapp_demojob_change", args=[job.pk]))

    assert page_config(response)["follow"] == [job.pk]
    assert 'name="_save"' not in response.content.decode()


def test_summary_uses_the_type_details_template(admin_client, run_on_commit):
    job = run_job(run_on_commit, steps=3)

    response = admin_client.get(reverse("admin:testapp_demojob_summary", args=[job.pk]))

    body = response.content.decode()
    assert "bg-tone-success" in body
    assert '<p class="demo-details">3 steps done.' in body
    assert f'<a href="/admin/testapp/demojob/{job.pk}/change/">Report</a>' in body


def test_summary_of_warnings_looks_different(admin_client, run_on_commit):
    job = run_job(run_on_commit, steps=1, warnings=["2 rows skipped"])

    body = admin_client.get(reverse("admin:testapp_demojob_summary", args=[job.pk])).content.decode()

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert "bg-tone-warnings" in body
    assert "Warnings: 2 rows skipped." in body


def test_summary_of_failure_shows_error_message(admin_client, run_on_commit):
    job = run_job(run_on_commit, steps=3, fail_at_step=1)

    body = admin_client.get(reverse("admin:testapp_demojob_summary", args=[job.pk])).content.decode()

    assert job.status == TaskStatus.FAILED
    assert "bg-tone-failure" in body
    assert '<p class="bg-error-message">Step 2 broke: the demo job was told to fail here</p>' in body


def test_generic_details_renderer_shows_keys_and_links(admin_client, run_on_commit):
    job = run_job(run_on_commit, model=SubscriptionMaintenanceRun)

    body = admin_client.get(reverse("admin:marketplace_subscriptionmaintenancerun_summary", args=[job.pk])).content.decode()

    assert '<dl class="bg-details-dl"><dt>Counts</dt><dd><dl class="bg-details-dl">' in body
    assert "<dt>Expired trials</dt><dd>0</dd>" in body


def test_generic_details_renderer_renders_links_as_links():
    from background_tasks.templatetags.background_tasks import details_list

    html = details_list({"error_report": "/media/private/report-7.csv", "note": "a / b", "rows": [1, 2]})

    assert '<dd><a href="/media/private/report-7.csv">report-7.csv</a></dd>' in html
    assert "<dd>a / b</dd>" in html
    assert '<ul class="bg-details-list"><li>1</li><li>2</li></ul>' in html


def test_summary_of_unknown_job_is_404(admin_client):
    assert admin_client.get(reverse("admin:testapp_demojob_summary", args=[999999])).status_code == 404


def test_summary_needs_staff(client, run_on_commit):
    job = run_job(run_on_commit, steps=1)

    response = client.get(reverse("admin:testapp_demojob_summary", args=[job.pk]))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_unified_page_lists_jobs_with_filters_and_counts(admin_client, run_on_commit):
    failed = run_job(run_on_commit, steps=2, fail_at_step=0)
    run_job(run_on_commit, steps=1)
    run_job(run_on_commit, model=SubscriptionMaintenanceRun)

    response = admin_client.get(reverse(UNIFIED), {"task_type": "demo_job", "status__exact": TaskStatus.FAILED})

    body = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [UnifiedTask.objects.get(pk=failed.pk)]
    assert 'data-task-type="demo_job" data-status="failed">1<' in body
    assert 'data-task-type="demo_job" data-status="completed">1<' in body
    assert 'data-task-type="subscription_maintenance" data-status="completed">1<' in body
    assert page_config(response)["countsUrl"] == reverse("background-task-counts")


def test_unified_page_never_counts_the_whole_table(admin_client, run_on_commit):
    run_job(run_on_commit, steps=1)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(UNIFIED))

    assert response.status_code == 200
    assert UnifiedTaskAdmin.show_full_result_count is False
    assert UnifiedTaskAdmin.paginator is CappedCountPaginator
    unified_counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "background_tasks_unified" in q["sql"]]
    assert unified_counts, "the page counts its rows somewhere"
    assert all("LIMIT" in sql.upper() for sql in unified_counts), unified_counts


def test_unified_cancel_action_reports_back(admin_client, run_on_commit):
    pending = DemoJob.objects.create(triggered_by="manual:test")
    done = run_job(run_on_commit, steps=1)

    response = admin_client.post(
        reverse(UNIFIED), {"action": "cancel_jobs", "_selected_action": [pending.pk, done.pk]}, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert "1 job cancelled (running ones stop at their next step)." in shown
    assert "1 job skipped: not in a state that allows it." in shown
    pending.refresh_from_db()
    assert pending.status == TaskStatus.CANCELLED


def test_unified_retry_action_reports_back(admin_client, run_on_commit, django_capture_on_commit_callbacks):
    failed = run_job(run_on_commit, steps=2, fail_at_step=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse(UNIFIED), {"action": "retry_jobs", "_selected_action": [failed.pk]}, follow=True)

    assert "1 job queued again." in [str(m) for m in response.context["messages"]]
    failed.refresh_from_db()
    assert failed.triggered_by.startswith("manual:")
    # It fails again at the same step: retried and ran once more.
    assert failed.status == TaskStatus.FAILED


def test_counts_endpoint_answers_per_type_and_status(staff_client, run_on_commit):
    run_job(run_on_commit, steps=1)
    run_job(run_on_commit, steps=1, fail_at_step=0)

    response = staff_client.get(reverse("background-task-counts"))

    assert response.status_code == 200
    body = response.json()
    assert body["cap"] == COUNTS_CAP
    assert body["counts"]["demo_job"] == {status: 0 for status in TaskStatus} | {
        TaskStatus.COMPLETED: 1,
        TaskStatus.FAILED: 1,
    }


def test_counts_stop_at_the_cap():
    DemoJob.objects.bulk_create([DemoJob(id=n, status=TaskStatus.COMPLETED) for n in range(1, 5)])

    counts = background_tasks_service.count_by_status_and_type(cap=3)

    assert counts["demo_job"][TaskStatus.COMPLETED] == 4  # cap + 1: "more than 3"
    assert count_label(4, cap=3) == "3+"
    assert count_label(3, cap=3) == "3"
    assert background_tasks_service.count_by_status_and_type()["demo_job"] == {TaskStatus.COMPLETED: 4}


def test_counts_endpoint_needs_staff(user_client):
    assert user_client.get(reverse("background-task-counts")).status_code == 403


def test_header_shows_unread_notification_count_on_any_admin_page(admin_client):
    AdminNotification.objects.create(title="Demo job #1 failed")
    AdminNotification.objects.create(title="Demo job #2 failed")
    AdminNotification.objects.create(title="Old", read_at=timezone.now())

    for url in (reverse("admin:index"), reverse("admin:marketplace_vendor_changelist")):
        body = admin_client.get(url).content.decode()
        link = reverse("admin:background_tasks_adminnotification_changelist") + "?read_at__isempty=1"
        assert f'<a href="{link}" class="bg-notifications bg-has-unread"' in body
        assert '<span class="bg-unread">2</span>' in body


def test_unread_link_lists_only_unread_and_mark_read_clears_count(admin_client):
    unread = AdminNotification.objects.create(title="Demo job #1 failed")
    AdminNotification.objects.create(title="Old", read_at=timezone.now())
    changelist = reverse("admin:background_tasks_adminnotification_changelist")

    listed = admin_client.get(changelist, {"read_at__isempty": "1"})
    assert list(listed.context["cl"].result_list) == [unread]

    response = admin_client.post(changelist, {"action": "mark_read", "_selected_action": [unread.pk]}, follow=True)
    assert "1 notification marked as read." in [str(m) for m in response.context["messages"]]
    assert '<span class="bg-unread">0</span>' in response.content.decode()


def test_cancel_from_the_page_needs_the_csrf_token_of_the_session(staff_user):
    from django.test import Client

    job = DemoJob.objects.create(triggered_by="manual:test")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    page = browser.get(reverse("admin:testapp_demojob_changelist"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    cancel_url = reverse("background-task-cancel", kwargs={"job_id": job.pk})

    refused = browser.post(cancel_url)
    accepted = browser.post(cancel_url, HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert accepted.status_code == 202
    job.refresh_from_db()
    assert job.status == TaskStatus.CANCELLED
