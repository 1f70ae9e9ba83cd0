"""A real Celery worker runs jobs end to end: task id stored, result stored, job finished."""
import pytest
from django_celery_results.models import TaskResult

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.factories import SubscriptionFactory
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob
from wizamart.marketplace.models import Subscription, SubscriptionMaintenanceRun

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def finished(job):
    job.refresh_from_db()
    return job.is_terminal()


def test_worker_runs_subscription_maintenance_to_completion(celery_worker, staff_client):
    from datetime import timedelta

    from django.utils import timezone

    trial = SubscriptionFactory(status=Subscription.Status.TRIALING, trial_end=timezone.now() - timedelta(days=1))

    response = staff_client.post("/api/v1/marketplace/subscription-maintenance", format="json")

    assert response.status_code == 202, response.content
    job = SubscriptionMaintenanceRun.objects.get(pk=response.json()["job_id"])
    assert job.celery_task_id  # stored when published, before any worker saw it
    wait_until(lambda: finished(job), what="the maintenance run to finish")
    assert job.status == TaskStatus.COMPLETED
    assert job.progress_percent == 100
    assert job.attempts == 1
    assert job.counts["expired_trials"] == 1
    trial.refresh_from_db()
    assert trial.status == Subscription.Status.EXPIRED
    result = wait_until(
        lambda: TaskResult.objects.filter(task_id=job.celery_task_id, status="SUCCESS").first(),
        what="the django-db result",
    )
    assert result.task_name == "wizamart.subscription_maintenance"
    assert TaskStatus.COMPLETED in result.result


def test_worker_reports_progress_and_reuses_one_database_session_per_process(celery_worker):
    jobs = [
        background_task_create(model=SleepJob, triggered_by="test", steps=2, step_seconds=0.05) for _ in range(6)
    ]

    for job in jobs:
        wait_until(lambda job=job: finished(job), what=f"sleep job #{job.pk}")
    assert {job.status for job in jobs} == {TaskStatus.COMPLETED}
    assert {job.steps_done for job in jobs} == {2}
    assert {job.runs for job in jobs} == {1}
    pool = {job.worker_pid for job in jobs}
    # CELERY_DB_REUSE_MAX keeps the connection open between tasks: one PostgreSQL session per pool process.
    assert len({job.db_backend_pid for job in jobs}) == len(pool) <= 2
