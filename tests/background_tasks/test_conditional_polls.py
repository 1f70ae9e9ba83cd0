"""Conditional polls: 304 while a job is unchanged, a new ETag when it changes, few queries, permissions first."""
import pytest
from django.utils import timezone

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob

pytestmark = pytest.mark.django_db

LIST = "/api/v1/admin/background-tasks"


def status_url(job) -> str:
    return f"{LIST}/{job.pk}"


@pytest.fixture
def job():
    # Created inside the test transaction and never committed: it stays pending until a test changes it.
    return background_task_create(model=DemoJob, triggered_by="manual:alice", steps=4)


def first_poll(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["ETag"].startswith('W/"')
    return response


def test_unchanged_job_is_answered_304_without_a_body(staff_client, job):
    etag = first_poll(staff_client, status_url(job))["ETag"]

    response = staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_progress_change_answers_200_with_a_new_etag(staff_client, job):
    etag = first_poll(staff_client, status_url(job))["ETag"]
    DemoJob.objects.filter(pk=job.pk).update(status=TaskStatus.RUNNING, progress_percent=40, progress_message="Step 2 of 4")

    response = staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["progress_percent"] == 40
    assert response.json()["progress_message"] == "Step 2 of 4"
    assert staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_a_change_to_the_types_own_details_answers_200(staff_client, job):
    etag = first_poll(staff_client, status_url(job))["ETag"]
    DemoJob.objects.filter(pk=job.pk).update(steps_done=3)

    response = staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response.json()["details"]["steps_done"] == 3


def test_a_heartbeat_alone_keeps_the_304(staff_client, job):
    """The heartbeat is not in the body: it must not cost every poll a full answer."""
    etag = first_poll(staff_client, status_url(job))["ETag"]
    DemoJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now(), queued_at=timezone.now())

    assert staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_304_poll_costs_at_most_three_queries(staff_client, job, django_assert_max_num_queries):
    etag = first_poll(staff_client, status_url(job))["ETag"]

    # Session, user, and the job's visible columns: no TaskRef lookup, no serializer, no details.
    with django_assert_max_num_queries(3):
        response = staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


@pytest.mark.parametrize("who", ["anon_client", "user_client"])
def test_permissions_are_checked_before_any_304(request, who, staff_client, job):
    etag = first_poll(staff_client, status_url(job))["ETag"]
    client = request.getfixturevalue(who)

    for if_none_match in (etag, "*"):
        response = client.get(status_url(job), HTTP_IF_NONE_MATCH=if_none_match)
        assert response.status_code in (401, 403)
        assert "ETag" not in response


def test_unknown_job_is_404_whatever_the_etag(staff_client, job):
    response = staff_client.get(f"{LIST}/{job.pk + 1000}", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == 404


def test_another_jobs_etag_does_not_match(staff_client, job):
    other = background_task_create(model=DemoJob, triggered_by="manual:alice", steps=4)
    etag = first_poll(staff_client, status_url(other))["ETag"]

    assert staff_client.get(status_url(job), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_row_poll_of_the_list_is_304_until_a_row_changes(staff_client, job, django_assert_max_num_queries):
    other = background_task_create(model=DemoJob, triggered_by="manual:alice", steps=4)
    url = f"{LIST}?ids={job.pk},{other.pk}"
    etag = first_poll(staff_client, url)["ETag"]

    with django_assert_max_num_queries(4):
        assert staff_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    DemoJob.objects.filter(pk=other.pk).update(progress_percent=75)
    response = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert {body["id"]: body["progress_percent"] for body in response.json()} == {job.pk: 0, other.pk: 75}


def test_list_etag_changes_when_a_new_job_matches(staff_client, job):
    url = f"{LIST}?ids={job.pk}&after={job.pk}&task_type=demo_job"
    etag = first_poll(staff_client, url)["ETag"]
    assert staff_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    newer = background_task_create(model=DemoJob, triggered_by="manual:bob", steps=2)
    response = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert [body["id"] for body in response.json()] == [newer.pk, job.pk]


def test_filtered_list_is_conditional_too(staff_client, job):
    url = f"{LIST}?task_type=demo_job&status=pending"
    etag = first_poll(staff_client, url)["ETag"]
    assert staff_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    DemoJob.objects.filter(pk=job.pk).update(status=TaskStatus.RUNNING)

    response = staff_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json() == []


def test_invalid_list_filters_still_answer_400(staff_client, job):
    response = staff_client.get(f"{LIST}?limit=0", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == 400
    assert "limit" in response.json()


def test_list_permissions_are_checked_before_any_304(anon_client, staff_client, job):
    url = f"{LIST}?ids={job.pk}"
    etag = first_poll(staff_client, url)["ETag"]

    assert anon_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code in (401, 403)


def test_a_200_poll_of_a_body_already_rendered_costs_three_queries(staff_client, job, django_assert_max_num_queries):
    first = first_poll(staff_client, status_url(job))

    # Another page polling the same job state: session, user, the job's row; the body is shared.
    with django_assert_max_num_queries(3):
        response = staff_client.get(status_url(job))

    assert response.status_code == 200
    assert response["ETag"] == first["ETag"]
    assert response.json() == first.json()


def test_a_shared_body_is_never_served_for_a_newer_state(staff_client, job):
    first_poll(staff_client, status_url(job))
    DemoJob.objects.filter(pk=job.pk).update(progress_percent=60, progress_message="Step 3 of 4")

    response = staff_client.get(status_url(job))

    assert (response.json()["progress_percent"], response.json()["progress_message"]) == (60, "Step 3 of 4")


def test_a_first_200_poll_loads_the_job_and_its_vendor_in_one_query(staff_client, django_assert_max_num_queries):
    from imports.models import MarketplaceImportJob
    from tests.factories import VendorFactory

    job = background_task_create(
        model=MarketplaceImportJob, triggered_by="manual:alice", vendor=VendorFactory(code="poll-vendor"),
        source_url="https://feeds.example/p.csv",
    )
    staff_client.get(status_url(job), HTTP_IF_NONE_MATCH='W/"other"')  # the job's type is known from now on
    MarketplaceImportJob.objects.filter(pk=job.pk).update(progress_percent=10)

    # Session, user, the job's row for the ETag, then the job joined with its vendor for the body.
    with django_assert_max_num_queries(4):
        response = staff_client.get(status_url(job))

    assert response.status_code == 200
    assert response.json()["details"]["vendor"] == "poll-vendor"
