"""A lost database connection (restart, failover, a job ending mid-query) never leaves a job stuck."""
import pytest
from django.db import OperationalError, connection

from background_tasks.jobs import JobFailed
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import FailJob, SleepJob

pytestmark = pytest.mark.postgres


def terminate_other_sessions() -> int:
    """Kill every other session on the test database, as a PostgreSQL restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def run_jobs(count):
    jobs = [background_task_create(model=SleepJob, triggered_by="test", steps=1) for _ in range(count)]
    for job in jobs:
        wait_until(lambda job=job: job.refresh_from_db() or job.is_terminal(), what=f"job #{job.pk}")
    return jobs


@pytest.mark.celery_worker
def test_jobs_complete_after_the_workers_sessions_were_killed(celery_worker):
    warm = run_jobs(4)  # both pool processes now hold a session
    assert {job.status for job in warm} == {TaskStatus.COMPLETED}

    assert terminate_other_sessions() >= 1

    jobs = run_jobs(6)
    assert {job.status for job in jobs} == {TaskStatus.COMPLETED}
    assert {job.runs for job in jobs} == {1}
    assert not {job.db_backend_pid for job in jobs} & {job.db_backend_pid for job in warm}


@pytest.mark.parametrize(
    ("ending", "error_start"),
    [("raise_job_failed", "Gave up: the database went away"), ("crash", "The connection to the database was lost")],
)
def test_final_status_is_written_when_the_job_lost_its_connection(transactional_db, monkeypatch, ending, error_start):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL.")

    def execute(self, progress):
        # As a time limit striking mid-query would: the job ends and its connection is dead.
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        except OperationalError:
            if ending == "raise_job_failed":
                raise JobFailed("Gave up: the database went away") from None
            raise

    monkeypatch.setattr(FailJob, "execute", execute)

    job = background_task_create(model=FailJob, triggered_by="test")

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith(error_start)
    assert "\n" not in job.error_message
