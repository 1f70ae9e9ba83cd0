"""Cancel stops a pending job at once and a running one at its next progress report; retry re-runs."""
import pytest

from background_tasks.services import (
    background_task_cancel,
    background_task_create,
    background_task_retry,
    background_task_run,
)
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import FailJob, SleepJob


def test_pending_job_is_cancelled_at_once_and_never_runs(db, run_on_commit):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=2)

    assert background_task_cancel(job=job, cancelled_by="staff:bob")

    job.refresh_from_db()
    assert job.status == TaskStatus.CANCELLED
    assert job.completed_at is not None
    assert job.progress_message == "Cancelled by staff:bob"

    assert background_task_run(model=SleepJob, job_id=job.pk) == "skipped"  # a late message finds nothing to do
    job.refresh_from_db()
    assert job.runs == 0


def test_finished_job_cannot_be_cancelled(db, run_on_commit):
    job = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=1)
    job.refresh_from_db()

    assert not background_task_cancel(job=job)

    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED


@pytest.mark.celery_worker
@pytest.mark.postgres
def test_running_job_stops_at_its_next_progress_report(celery_worker, staff_client):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=200, step_seconds=0.1)
    wait_until(lambda: job.refresh_from_db() or job.steps_done >= 2, what="the job to make progress")

    response = staff_client.post(f"/api/v1/admin/background-tasks/{job.pk}/cancel", format="json")

    assert response.status_code == 202, response.content  # asked to stop; it stops at its next report
    assert response.json()["status"] == TaskStatus.RUNNING
    assert response.json()["progress_message"].startswith("Cancelling")
    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the job to stop")
    assert job.status == TaskStatus.CANCELLED
    assert job.cancel_requested
    assert 2 <= job.steps_done < 200
    assert job.progress_percent < 100
    assert job.completed_at is not None


def test_retry_of_a_failed_job_runs_it_again(db, run_on_commit):
    job = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=3, fail_at_step=1)
    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    SleepJob.objects.filter(pk=job.pk).update(fail_at_step=None)  # the cause is fixed

    assert run_on_commit(background_task_retry, job=job, triggered_by="cli:carol")

    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED
    assert job.error_message is None
    assert job.triggered_by == "cli:carol"
    assert job.runs == 2
    assert job.attempts == 1  # retry starts a fresh allowance of attempts


def test_retry_of_a_cancelled_job_runs_it(db, run_on_commit):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=2)
    background_task_cancel(job=job)

    assert run_on_commit(background_task_retry, job=job, triggered_by="test")

    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED
    assert not job.cancel_requested


def test_retry_refuses_active_and_completed_jobs(db, run_on_commit):
    pending = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)
    done = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=1)

    assert not background_task_retry(job=pending, triggered_by="test")
    assert not background_task_retry(job=done, triggered_by="test")

    assert SleepJob.objects.get(pk=pending.pk).status == TaskStatus.PENDING
    assert SleepJob.objects.get(pk=done.pk).runs == 1


@pytest.mark.celery_worker
@pytest.mark.postgres
def test_retry_through_the_api_runs_on_the_worker(celery_worker, staff_client):
    job = background_task_create(model=FailJob, triggered_by="test")
    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the job to fail")
    first_task_id = job.celery_task_id

    response = staff_client.post(f"/api/v1/admin/background-tasks/{job.pk}/retry", format="json")

    assert response.status_code == 202, response.content
    wait_until(
        lambda: job.refresh_from_db() or (job.is_terminal() and job.celery_task_id != first_task_id),
        what="the retried job to finish",
    )
    assert job.status == TaskStatus.FAILED
    assert job.attempts == 1
