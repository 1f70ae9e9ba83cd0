"""The Celery settings long jobs rely on are the ones a real worker runs with."""
import pytest
from django.conf import settings
from django_celery_results.models import TaskResult
from kombu import Connection

from background_tasks.registry import celery_task_name
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob
from wizamart.celery import app

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


@pytest.fixture
def worker_conf(celery_worker):
    """The configuration the worker process reports over the broker (not this process's copy)."""
    replies = wait_until(lambda: app.control.inspect(timeout=2).conf(with_defaults=True), what="the worker's conf")
    assert len(replies) == 1
    return next(iter(replies.values()))


def test_worker_accepts_json_only_and_acks_late(worker_conf):
    assert worker_conf["accept_content"] == ["json"]
    assert worker_conf["task_serializer"] == "json"
    assert worker_conf["result_serializer"] == "json"
    assert worker_conf["task_acks_late"] is True
    assert worker_conf["task_reject_on_worker_lost"] is True
    assert worker_conf["worker_prefetch_multiplier"] == 1
    assert worker_conf["result_backend"] == "django-db"


def test_visibility_timeout_outlasts_the_time_limit(worker_conf):
    hard_limit = worker_conf["task_time_limit"]
    assert hard_limit == settings.LONGEST_JOB_SECONDS
    assert 0 < worker_conf["task_soft_time_limit"] < hard_limit
    # Redis redelivers an unacked message after this: a job still inside its time limit must never be.
    assert worker_conf["broker_transport_options"]["visibility_timeout"] > hard_limit


def test_worker_reserves_no_more_than_one_message_per_process(celery_worker):
    stats = wait_until(lambda: app.control.inspect(timeout=2).stats(), what="the worker's stats")
    (worker_stats,) = stats.values()
    assert worker_stats["prefetch_count"] == worker_stats["pool"]["max-concurrency"] == 2


def test_worker_refuses_a_pickled_message(celery_worker):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1)
    with Connection(app.conf.broker_url) as conn:
        conn.Producer().publish(
            [[job.pk], {}, {}],
            routing_key=SleepJob.queue,
            serializer="pickle",
            headers={"task": celery_task_name(SleepJob.task_type), "id": "pickled-1", "lang": "py", "argsrepr": ""},
        )

    wait_until(lambda: "Refusing to deserialize" in celery_worker.log(), what="the worker to refuse the message")
    job.refresh_from_db()
    assert job.status == TaskStatus.PENDING
    assert job.runs == 0


def test_job_tasks_store_no_started_row_only_the_final_result(celery_worker):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=6, step_seconds=0.2)
    wait_until(lambda: job.refresh_from_db() or job.steps_done >= 1, what="the job to run")

    # The job row says running; a STARTED result row would outlive a killed worker (it never ends).
    assert not TaskResult.objects.filter(task_id=job.celery_task_id).exists()
    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the job to finish")
    result = wait_until(lambda: TaskResult.objects.filter(task_id=job.celery_task_id).first(), what="the result")
    assert result.status == "SUCCESS"
