"""What the live pages ask the server: rows by ids, jobs started since, the unread count; the branding."""
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from background_tasks.api import MAX_JOB_ID
from background_tasks.models import AdminNotification
from background_tasks.selectors import MAX_IDS, UNREAD_CAP
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = pytest.mark.django_db

LIST = "/api/v1/admin/background-tasks"
UNIFIED = "admin:background_tasks_unifiedtask_changelist"


def pending(model=DemoJob, **fields):
    # No commit inside the test transaction: the job stays pending.
    return background_task_create(model=model, triggered_by="manual:test", **fields)


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [body["id"] for body in response.json()]


def page_config(response) -> dict:
    match = re.search(r'<script id="bg-task-config" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page carries no task-page configuration"
    return json.loads(match.group(1))


def test_ids_answer_those_jobs_of_any_type_newest_first(staff_client):
    demo, run, other = pending(), pending(SubscriptionMaintenanceRun), pending()

    response = staff_client.get(LIST, {"ids": f"{demo.pk},{run.pk}"})

    assert ids_of(response) == [run.pk, demo.pk]
    assert {body["task_type"] for body in response.json()} == {"demo_job", "subscription_maintenance"}
    assert other.pk not in ids_of(response)


def test_ids_ignore_status_type_and_limit_filters(staff_client, run_on_commit):
    done = run_on_commit(background_task_create, model=DemoJob, triggered_by="manual:test", steps=1)
    waiting = pending()

    response = staff_client.get(LIST, {"ids": f"{done.pk},{waiting.pk}", "status": TaskStatus.PENDING, "limit": 1})

    assert sorted(ids_of(response)) == sorted([done.pk, waiting.pk])
    assert {body["status"] for body in response.json()} == {TaskStatus.COMPLETED, TaskStatus.PENDING}


def test_ids_leave_out_unknown_and_repeated_ids(staff_client):
    job = pending()

    assert ids_of(staff_client.get(LIST, {"ids": f"{job.pk}, {job.pk},{job.pk + 1000}"})) == [job.pk]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ("abc", '"abc" is not a job id'),
        ("12,x", '"x" is not a job id'),
        ("0", '"0" is not a job id'),
        ("-3", '"-3" is not a job id'),
        ("1.5", '"1.5" is not a job id'),
        ("\u0661\u0662", "is not a job id"),  # digits, but not ASCII ones
        (str(MAX_JOB_ID + 1), "is not a job id"),
        (" , ", "Give at least one job id"),
        (",".join(str(n) for n in range(1, MAX_IDS + 2)), f"At most {MAX_IDS} ids at once (got {MAX_IDS + 1})."),
    ],
)
def test_bad_ids_are_a_400_with_the_field_error(staff_client, ids, message):
    response = staff_client.get(LIST, {"ids": ids})

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"ids"}
    assert message in errors["ids"][0]


def test_ids_up_to_the_cap_are_accepted(staff_client):
    job = pending()
    ids = [job.pk, *range(job.pk + 1, job.pk + MAX_IDS)]

    assert ids_of(staff_client.get(LIST, {"ids": ",".join(map(str, ids))})) == [job.pk]


def test_after_lists_only_jobs_started_since_matching_the_filters(staff_client):
    before = pending()
    newer_demo = pending()
    newer_run = pending(SubscriptionMaintenanceRun)

    assert ids_of(staff_client.get(LIST, {"after": before.pk})) == [newer_run.pk, newer_demo.pk]
    assert ids_of(staff_client.get(LIST, {"after": before.pk, "task_type": "demo_job"})) == [newer_demo.pk]
    assert ids_of(staff_client.get(LIST, {"after": before.pk, "status": TaskStatus.RUNNING})) == []
    assert ids_of(staff_client.get(LIST, {"after": newer_run.pk})) == []


def test_ids_with_after_answer_both_sets_once(staff_client):
    followed = pending(SubscriptionMaintenanceRun)
    marker = pending()
    newer = pending()

    response = staff_client.get(LIST, {"ids": f"{followed.pk},{newer.pk}", "after": marker.pk, "task_type": "demo_job"})

    assert ids_of(response) == [newer.pk, followed.pk]


@pytest.mark.parametrize("after", ["-1", "x", str(MAX_JOB_ID + 1)])
def test_bad_after_is_a_400_with_the_field_error(staff_client, after):
    response = staff_client.get(LIST, {"after": after})

    assert response.status_code == 400
    assert set(response.json()) == {"after"}


def test_list_by_ids_needs_staff(user_client, anon_client):
    assert user_client.get(LIST, {"ids": "1"}).status_code == 403
    assert anon_client.get(LIST, {"ids": "1"}).status_code in (401, 403)


def test_schema_documents_ids_and_after(staff_client):
    schema = staff_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/admin/background-tasks"]["get"]["parameters"]}
    assert f"at most {MAX_IDS}" in parameters["ids"]["description"]
    assert "larger id" in parameters["after"]["description"]
    assert "/api/v1/admin/notifications/unread-count" in schema["paths"]


def test_unread_count_endpoint_counts_only_unread(staff_client):
    AdminNotification.objects.create(title="Demo job #1 failed")
    AdminNotification.objects.create(title="Old", read_at=timezone.now())

    response = staff_client.get("/api/v1/admin/notifications/unread-count")

    assert response.status_code == 200
    assert response.json() == {"unread": 1, "cap": UNREAD_CAP, "label": "1"}


def test_unread_count_stops_at_the_cap(staff_client):
    AdminNotification.objects.bulk_create(AdminNotification(title=f"#{n} failed") for n in range(UNREAD_CAP + 5))

    body = staff_client.get("/api/v1/admin/notifications/unread-count/").json()

    assert body == {"unread": UNREAD_CAP + 1, "cap": UNREAD_CAP, "label": f"{UNREAD_CAP}+"}


def test_unread_count_needs_staff(user_client):
    assert user_client.get("/api/v1/admin/notifications/unread-count").status_code == 403


def test_header_link_tells_the_page_where_and_how_often_to_ask(admin_client, settings):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "UNREAD_POLL_SECONDS": 15}

    body = admin_client.get(reverse("admin:index")).content.decode()

    assert 'data-count-url="/api/v1/admin/notifications/unread-count"' in body
    assert 'data-poll-ms="15000"' in body
    assert "background_tasks/notifications.js" in body


def test_unified_first_page_newest_first_inserts_new_jobs(admin_client):
    job = pending()

    config = page_config(admin_client.get(reverse(UNIFIED), {"task_type": "demo_job", "status__exact": TaskStatus.PENDING}))

    new_jobs = config["newJobs"]
    assert new_jobs["insert"] is True
    assert new_jobs["after"] == job.pk
    assert (new_jobs["taskType"], new_jobs["status"]) == ("demo_job", TaskStatus.PENDING)
    assert new_jobs["changeUrls"]["demo_job"] == "/admin/testapp/demojob/__id__/change/"
    assert new_jobs["taskTypeLabels"]["subscription_maintenance"]
    assert new_jobs["pageSize"] == 50


def test_unified_show_all_keeps_every_row_when_new_jobs_arrive(admin_client):
    config = page_config(admin_client.get(reverse(UNIFIED), {"all": ""}))

    assert config["newJobs"]["insert"] is True
    assert config["newJobs"]["pageSize"] == 200


@pytest.mark.parametrize("query", [{"p": "2"}, {"o": "3"}, {"q": "alice"}])
def test_unified_other_pages_orderings_and_searches_only_count_new_jobs(admin_client, query):
    for _ in range(60):
        pending()

    config = page_config(admin_client.get(reverse(UNIFIED), query))

    assert config["newJobs"]["insert"] is False


def test_unified_page_with_a_filter_the_api_would_refuse_looks_for_no_new_jobs(admin_client):
    config = page_config(admin_client.get(reverse(UNIFIED), {"task_type": "no_such_type"}))

    assert config["newJobs"] is None


def test_admin_is_branded(admin_client):
    body = admin_client.get(reverse("admin:index")).content.decode()

    assert '<a href="/admin/">Wizamart back office</a>' in body
    assert "<title>Back office | Wizamart</title>" in body
