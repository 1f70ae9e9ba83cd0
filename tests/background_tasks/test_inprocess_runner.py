"""In-process mode (USE_CELERY=false): the real thread pool runs jobs, and a restart loses none."""
from datetime import timedelta

import pytest
from django.utils import timezone

from background_tasks import inprocess
from background_tasks.services import background_task_cancel, background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun


@pytest.fixture
def pool_settings(settings, transactional_db):
    """The thread pool for real (not eager), with short reliability timings."""
    settings.USE_CELERY = False
    settings.BACKGROUND_TASKS = {
        **settings.BACKGROUND_TASKS,
        "EAGER": False,
        "HEARTBEAT_INTERVAL": 0.2,
        "STALE_AFTER": 2.0,
        "PROGRESS_INTERVAL": 0.0,
        "SWEEP_INTERVAL": 3600.0,
    }
    yield settings
    inprocess.stop_janitor(timeout=30)


def finished(job):
    job.refresh_from_db()
    return job.is_terminal()


def test_thread_pool_runs_subscription_maintenance(pool_settings, staff_client):
    response = staff_client.post("/api/v1/marketplace/subscription-maintenance", format="json")

    assert response.status_code == 202
    job = SubscriptionMaintenanceRun.objects.get(pk=response.json()["job_id"])
    wait_until(lambda: finished(job), what="the in-process job to finish")
    assert job.status == TaskStatus.COMPLETED
    assert job.celery_task_id is None
    assert job.queued_at is not None
    assert job.attempts == 1
    assert set(job.counts) == {"expired_trials", "expired_at_period_end", "renewed", "past_due"}


def test_thread_pool_runs_jobs_side_by_side_with_progress(pool_settings):
    jobs = [background_task_create(model=SleepJob, triggered_by="test", steps=4, step_seconds=0.05) for _ in range(5)]

    for job in jobs:
        wait_until(lambda job=job: finished(job), what=f"job #{job.pk}")
    assert {job.status for job in jobs} == {TaskStatus.COMPLETED}
    assert {job.steps_done for job in jobs} == {4}
    assert {job.runs for job in jobs} == {1}
    assert {job.progress_percent for job in jobs} == {100}


def test_running_pool_job_stops_when_cancelled(pool_settings):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=200, step_seconds=0.05)
    wait_until(lambda: job.refresh_from_db() or job.steps_done >= 2, what="the job to make progress")

    assert background_task_cancel(job=job, cancelled_by="test")

    wait_until(lambda: finished(job), what="the job to stop")
    assert job.status == TaskStatus.CANCELLED
    assert 2 <= job.steps_done < 200


def test_start_up_sweep_recovers_jobs_a_restart_interrupted(pool_settings):
    """Given rows a dead process left behind (one running, one queued in its memory), start-up runs both."""
    long_ago = timezone.now() - timedelta(minutes=5)
    running = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=2)
    SleepJob.objects.filter(pk=running.pk).update(
        status=TaskStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago, attempts=1
    )
    queued = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=2)
    SleepJob.objects.filter(pk=queued.pk).update(created_at=long_ago, queued_at=long_ago)
    fresh = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1)
    SleepJob.objects.filter(pk=fresh.pk).update(queued_at=timezone.now())

    inprocess.start_janitor()

    for job in (running, queued, fresh):
        wait_until(lambda job=job: finished(job), what=f"job #{job.pk} to be recovered")
    assert running.status == TaskStatus.COMPLETED
    assert running.attempts == 2  # re-queued by the reaper, then claimed again
    assert queued.status == fresh.status == TaskStatus.COMPLETED
    assert {running.runs, queued.runs, fresh.runs} == {1}


def test_start_up_sweep_fails_a_job_that_used_all_its_attempts(pool_settings):
    long_ago = timezone.now() - timedelta(minutes=5)
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=2)
    SleepJob.objects.filter(pk=job.pk).update(
        status=TaskStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago, attempts=3
    )

    inprocess.start_janitor()

    wait_until(lambda: finished(job), what="the reaper to fail the job")
    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("Worker lost")
    assert job.runs == 0
