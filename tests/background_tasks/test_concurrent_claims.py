"""Concurrent claims of one job on PostgreSQL: exactly one claimant runs it."""
import threading

import pytest
from django.db import connection

from background_tasks.services import background_task_create, background_task_run
from background_tasks.status import TaskStatus
from tests.testapp.models import SleepJob

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent claims need a database with row-level locking (PostgreSQL).")


def run_in_threads(count, target):
    """Start ``count`` threads together (a barrier), each running ``target(index)``; return the results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(index):
        try:
            barrier.wait()
            results[index] = target(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_concurrent_claims_run_the_job_once():
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=3, step_seconds=0.05)

    results = run_in_threads(2, lambda _: background_task_run(model=SleepJob, job_id=job.pk))

    assert sorted(results) == sorted([TaskStatus.COMPLETED, "skipped"])
    job.refresh_from_db()
    assert job.runs == 1
    assert job.attempts == 1
    assert job.status == TaskStatus.COMPLETED


def test_many_claimants_over_many_jobs_run_each_job_exactly_once():
    jobs = [background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1) for _ in range(40)]

    def claim_everything(_):
        return [background_task_run(model=SleepJob, job_id=job.pk) for job in jobs]

    results = run_in_threads(6, claim_everything)

    ran = [status for per_thread in results for status in per_thread if status != "skipped"]
    assert len(ran) == len(jobs)
    assert set(SleepJob.objects.values_list("runs", flat=True)) == {1}
    assert set(SleepJob.objects.values_list("status", flat=True)) == {TaskStatus.COMPLETED}
