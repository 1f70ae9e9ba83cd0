"""django-celery-results agrees with the job: a duplicate delivery records no success, a failed job's task fails."""
import json
import threading
import time

import pytest
from celery import states
from django_celery_results.models import TaskResult

from background_tasks.celery_tasks import DUPLICATE
from background_tasks.dispatch import background_task_publish, celery_app
from background_tasks.registry import celery_task_name
from background_tasks.services import background_task_cancel, background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


@pytest.fixture
def task_events(celery_worker):
    """Record the task events workers send, as Flower receives them: {task id: [event types]}."""
    app = celery_app()
    seen: dict[str, list[str]] = {}
    stop = threading.Event()

    def record(event):
        if event.get("uuid"):
            seen.setdefault(event["uuid"], []).append(event["type"])

    def listen():
        with app.connection_for_read() as conn:
            receiver = app.events.Receiver(conn, handlers={"*": record})
            while not stop.is_set():
                try:
                    receiver.capture(limit=None, timeout=0.5, wakeup=False)
                except TimeoutError:
                    continue

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1)  # the listener's queue is bound before anything is sent
    yield seen
    stop.set()
    listener.join(5)


def result_of(task_id, *, status=None):
    """Wait for the stored result of ``task_id`` (in ``status`` when given)."""
    rows = TaskResult.objects.filter(task_id=task_id)
    if status:
        rows = rows.filter(status=status)
    return wait_until(lambda: rows.first(), what=f"the result of {task_id}")


def finish(job):
    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what=f"job #{job.pk} to finish")
    return job


def test_a_duplicate_delivery_records_a_duplicate_not_a_success(celery_worker, task_events):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=3, step_seconds=0.3)
    assert background_task_publish(SleepJob, job.pk)
    first_task_id = SleepJob.objects.get(pk=job.pk).celery_task_id
    wait_until(lambda: job.refresh_from_db() or job.is_running(), what="the first delivery to claim the job")

    celery_app().send_task(celery_task_name(SleepJob.task_type), args=[job.pk], queue=SleepJob.queue, task_id="dup-1")

    duplicate = result_of("dup-1")
    finish(job)
    assert (job.status, job.runs, job.celery_task_id) == (TaskStatus.COMPLETED, 1, first_task_id)
    assert duplicate.status == DUPLICATE
    assert json.loads(duplicate.result) == {"duplicate_of_job": job.pk, "job_task_id": first_task_id}
    own = result_of(first_task_id, status=states.SUCCESS)
    assert json.loads(own.result) == TaskStatus.COMPLETED
    # Flower, which follows events, shows the duplicate rejected, not succeeded.
    wait_until(lambda: "task-rejected" in task_events.get("dup-1", []), what="Flower to hear of the duplicate")
    assert "task-succeeded" not in task_events["dup-1"]


def test_a_redelivery_of_the_running_message_leaves_the_runs_result_alone(celery_worker):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=4, step_seconds=0.3)
    assert background_task_publish(SleepJob, job.pk)
    task_id = SleepJob.objects.get(pk=job.pk).celery_task_id
    wait_until(lambda: job.refresh_from_db() or job.is_running(), what="the first delivery to claim the job")

    # The same message again, as Redis redelivers it after the visibility timeout.
    celery_app().send_task(celery_task_name(SleepJob.task_type), args=[job.pk], queue=SleepJob.queue, task_id=task_id)
    wait_until(lambda: "skipped, the job is run by" in celery_worker.log(), what="the redelivery to be skipped")

    finish(job)
    assert (job.status, job.runs) == (TaskStatus.COMPLETED, 1)
    # Only the run wrote under its id: the skipped copy did not overwrite it with a success of its own.
    assert json.loads(result_of(task_id, status=states.SUCCESS).result) == TaskStatus.COMPLETED


def test_a_failed_jobs_task_reads_failure(celery_worker, task_events):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=3, fail_at_step=1)

    finish(job)
    result = result_of(job.celery_task_id)

    assert job.status == TaskStatus.FAILED
    assert result.status == states.FAILURE
    assert job.error_message in json.loads(result.result)["exc_message"][0]
    wait_until(lambda: "task-failed" in task_events.get(job.celery_task_id, []), what="Flower to hear of the failure")


def test_a_crashed_jobs_task_reads_failure_and_keeps_the_cause(celery_worker):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=2, fail_at_step=0, crash=True)

    finish(job)
    result = result_of(job.celery_task_id)

    assert job.status == TaskStatus.FAILED
    assert job.error_message == "Unexpected error (ValueError): boom at step 1"
    assert result.status == states.FAILURE


def test_a_cancelled_jobs_task_reads_revoked(celery_worker, task_events):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=50, step_seconds=0.2)
    wait_until(lambda: job.refresh_from_db() or job.steps_done >= 1, what="the job to run")

    assert background_task_cancel(job=job, cancelled_by="test")

    finish(job)
    assert job.status == TaskStatus.CANCELLED
    assert result_of(job.celery_task_id).status == states.REVOKED
    wait_until(lambda: "task-revoked" in task_events.get(job.celery_task_id, []), what="Flower to hear of the cancel")
    assert "task-succeeded" not in task_events[job.celery_task_id]
