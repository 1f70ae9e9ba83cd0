"""Messages the broker lost (a Redis restart without persistence, a FLUSHDB) are published again in minutes."""
import time

import pytest
import redis

from background_tasks.dispatch import REQUEUED_AFTER_LOSS
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep
from tests.fixtures.celery_worker import redis_url, wait_until
from tests.testapp.models import SleepJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

LOST_AFTER = 0.5


@pytest.fixture
def queued_job(celery_worker_factory, settings):
    """A job published to its queue while no worker runs (so its message waits there)."""
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "LOST_MESSAGE_AFTER": LOST_AFTER}
    redis.Redis.from_url(redis_url()).flushdb()  # no message left over from another test
    job = background_task_create(model=SleepJob, triggered_by="test", steps=1)
    job.refresh_from_db()
    assert job.celery_task_id and job.queued_at is not None
    time.sleep(LOST_AFTER + 0.1)
    return job


def test_a_message_still_in_its_queue_is_left_alone(queued_job):
    report = background_tasks_sweep()

    assert report.lost == 0
    published_as = queued_job.celery_task_id
    queued_job.refresh_from_db()
    assert queued_job.celery_task_id == published_as


def test_a_lost_message_is_published_again_and_the_job_runs_once(queued_job, celery_worker_factory):
    lost_task_id = queued_job.celery_task_id
    redis.Redis.from_url(redis_url()).flushdb()

    report = background_tasks_sweep()

    assert report.lost == 1
    queued_job.refresh_from_db()
    assert queued_job.status == TaskStatus.PENDING
    assert queued_job.progress_message == REQUEUED_AFTER_LOSS
    assert queued_job.celery_task_id != lost_task_id
    # The sweep after it finds the new message in the queue: nothing more to do.
    assert background_tasks_sweep().lost == 0

    celery_worker_factory()
    wait_until(lambda: queued_job.refresh_from_db() or queued_job.is_terminal(), what="the job to run")
    assert (queued_job.status, queued_job.runs, queued_job.attempts) == (TaskStatus.COMPLETED, 1, 1)


def test_a_job_younger_than_the_threshold_is_not_second_guessed(queued_job, settings):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "LOST_MESSAGE_AFTER": 600.0}
    redis.Redis.from_url(redis_url()).flushdb()

    assert background_tasks_sweep().lost == 0


def test_messages_waiting_behind_busy_workers_are_not_lost(celery_worker_factory, settings):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "LOST_MESSAGE_AFTER": LOST_AFTER}
    celery_worker_factory()
    # Two keep both pool processes busy; the other two wait in the queue, pending, published long enough.
    jobs = [background_task_create(model=SleepJob, triggered_by="test", steps=1, step_seconds=4) for _ in range(4)]
    wait_until(lambda: SleepJob.objects.filter(status=TaskStatus.RUNNING).count() == 2, what="two jobs to run")
    time.sleep(LOST_AFTER + 0.1)

    report = background_tasks_sweep()

    assert report.lost == 0
    for job in jobs:
        wait_until(lambda job=job: job.refresh_from_db() or job.is_terminal(), timeout=60, what=f"job #{job.pk}")
    assert {(job.status, job.runs) for job in jobs} == {(TaskStatus.COMPLETED, 1)}


def test_a_message_delivered_but_not_yet_acked_is_not_lost(queued_job):
    from background_tasks.dispatch import celery_app

    with celery_app().connection_for_read() as conn:
        # Take the message off the queue as a worker does, without acking it.
        message = conn.default_channel.basic_get(SleepJob.queue, no_ack=False)
        assert message is not None and message.headers["id"] == queued_job.celery_task_id
        assert not redis.Redis.from_url(redis_url()).llen(SleepJob.queue)

        report = background_tasks_sweep()

        message.ack()
    assert report.lost == 0
