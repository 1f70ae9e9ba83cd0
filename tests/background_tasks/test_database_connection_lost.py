"""A worker whose kept PostgreSQL session died (restart, failover) reconnects instead of failing every job."""
import pytest
from django.db import connection

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


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


def test_jobs_complete_after_the_workers_sessions_were_killed(celery_worker):
    warm = run_jobs(4)  # both pool processes now hold a session
    assert {job.status for job in warm} == {TaskStatus.COMPLETED}

    assert terminate_other_sessions() >= 1

    jobs = run_jobs(6)
    assert {job.status for job in jobs} == {TaskStatus.COMPLETED}
    assert {job.runs for job in jobs} == {1}
    assert not {job.db_backend_pid for job in jobs} & {job.db_backend_pid for job in warm}
