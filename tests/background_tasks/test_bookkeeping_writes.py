"""Bookkeeping writes (claim, progress, heartbeat, publish marks) skip the WAL flush wait, and only those."""
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from background_tasks.services import background_task_claim, background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import SleepJob

pytestmark = pytest.mark.postgres

ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting.")


def read_from_another_session(job_id):
    seen = {}

    def read():
        try:
            seen["status"] = SleepJob.objects.filter(pk=job_id).values_list("status", flat=True).get()
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return seen["status"]


def test_claim_commits_without_flush_wait_and_is_visible_at_once():
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)

    with CaptureQueriesContext(connection) as queries:
        assert background_task_claim(model=SleepJob, job_id=job.pk) is not None

    assert ASYNC_COMMIT in [q["sql"] for q in queries.captured_queries]
    assert read_from_another_session(job.pk) == TaskStatus.RUNNING
    with connection.cursor() as cursor:  # the setting was local to that one transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_inside_a_callers_transaction_it_is_a_plain_update():
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        SleepJob.objects.filter(pk=job.pk).update_bookkeeping(progress_message="inside")

    assert ASYNC_COMMIT not in [q["sql"] for q in queries.captured_queries]
    assert read_from_another_session(job.pk) == TaskStatus.PENDING


def test_creating_a_job_commits_durably():
    with CaptureQueriesContext(connection) as queries:
        background_task_create(model=SleepJob, triggered_by="test", dispatch=False)

    assert ASYNC_COMMIT not in [q["sql"] for q in queries.captured_queries]
