"""Celery workers lower their CPU priority when they start, so the web process on the machine goes first."""
import os

import pytest

from background_tasks.services import background_task_create
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def test_a_worker_and_its_pool_processes_run_at_the_lowered_priority(celery_worker_factory):
    ours = niceness(0)
    worker = celery_worker_factory(BACKGROUND_TASKS_WORKER_NICENESS="7")
    wait_until(lambda: worker.pool_child_pids(), what="pool processes")
    assert niceness(worker.pid) == min(ours + 7, 19)
    assert {niceness(pid) for pid in worker.pool_child_pids()} == {min(ours + 7, 19)}
    assert "Worker CPU priority lowered: niceness" in worker.log()
    # and it still runs jobs
    job = background_task_create(model=SleepJob, triggered_by="test", steps=1)
    wait_until(lambda: SleepJob.objects.get(pk=job.pk).is_terminal(), what="the job to finish")
    assert SleepJob.objects.get(pk=job.pk).status == "completed"


def test_zero_keeps_the_priority(celery_worker_factory):
    ours = niceness(0)
    worker = celery_worker_factory(BACKGROUND_TASKS_WORKER_NICENESS="0")
    wait_until(lambda: worker.pool_child_pids(), what="pool processes")
    assert niceness(worker.pid) == ours
    assert "Worker CPU priority lowered" not in worker.log()
