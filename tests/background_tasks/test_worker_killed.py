"""A real worker stopped, killed or out of time while a job runs: the job finishes, re-runs or fails readably, never stuck."""
import os
import signal

import pytest

from background_tasks.models import AdminNotification
from background_tasks.registry import celery_task_name
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob
from wizamart.celery import app

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def start_slow_job(steps=40):
    job = background_task_create(model=SleepJob, triggered_by="test", steps=steps, step_seconds=0.25)
    wait_until(lambda: job.refresh_from_db() or (job.is_running() and job.worker_pid), what="the job to start")
    return job


def sweep_until_not_running(job):
    """Call the sweep (as beat would) until the reaper has dealt with the silent job."""

    def reaped():
        background_tasks_sweep()
        job.refresh_from_db()
        return not job.is_running() or job.runs > 1

    wait_until(reaped, interval=0.5, what="the reaper to notice the dead worker")


def test_killed_pool_child_with_attempts_left_reruns_to_completion(celery_worker, celery_settings):
    celery_settings.BACKGROUND_TASKS = {**celery_settings.BACKGROUND_TASKS, "MAX_ATTEMPTS": 3}
    job = start_slow_job()
    assert job.worker_pid in celery_worker.pool_child_pids()

    os.kill(job.worker_pid, signal.SIGKILL)
    sweep_until_not_running(job)

    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the re-run to finish")
    assert job.status == TaskStatus.COMPLETED
    assert job.runs == 2
    assert job.attempts == 2
    assert job.steps_done == 40  # the second run did all the work from the start
    assert celery_worker.process.poll() is None  # the worker replaced its pool child and lives on


def test_killed_pool_child_without_attempts_left_fails_as_worker_lost(celery_worker, celery_settings):
    celery_settings.BACKGROUND_TASKS = {**celery_settings.BACKGROUND_TASKS, "MAX_ATTEMPTS": 1}
    job = start_slow_job()

    os.kill(job.worker_pid, signal.SIGKILL)
    sweep_until_not_running(job)

    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("Worker lost")
    assert job.runs == 1
    assert job.completed_at is not None
    assert AdminNotification.objects.filter(job_id=job.pk, task_type=SleepJob.task_type).exists()


def test_whole_worker_killed_job_reruns_on_another_worker(celery_worker_factory, celery_settings):
    celery_settings.BACKGROUND_TASKS = {**celery_settings.BACKGROUND_TASKS, "MAX_ATTEMPTS": 3}
    first = celery_worker_factory()
    job = start_slow_job(steps=12)
    assert job.worker_pid in first.pool_child_pids()

    first.kill()  # main process and pool children: the message stays unacked in Redis
    second = celery_worker_factory()
    sweep_until_not_running(job)

    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the re-run to finish")
    assert job.status == TaskStatus.COMPLETED
    assert job.runs == 2
    assert job.steps_done == 12
    assert job.worker_pid in second.pool_child_pids()


def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(celery_worker_factory):
    worker = celery_worker_factory()
    job = start_slow_job(steps=8)

    os.kill(worker.pid, signal.SIGTERM)  # warm shutdown, what `docker compose stop` sends
    worker.process.wait(60)

    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED
    assert job.steps_done == 8
    assert job.runs == 1


def test_soft_time_limit_fails_the_job_with_a_readable_message(celery_worker_factory, monkeypatch):
    celery_worker_factory(LONGEST_JOB_SECONDS="62")  # soft limit 2 s, hard limit 62 s
    # Celery writes the publisher's limits into each message, and the worker obeys the message:
    # like every process of a deployment, this one must agree with the worker's LONGEST_JOB_SECONDS.
    task = app.tasks[celery_task_name(SleepJob.task_type)]
    monkeypatch.setattr(task, "soft_time_limit", 2)
    monkeypatch.setattr(task, "time_limit", 62)
    monkeypatch.setattr(task, "_exec_options", None)
    job = background_task_create(model=SleepJob, triggered_by="test", steps=40, step_seconds=0.25)

    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the time limit to stop the job")
    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("Stopped by the time limit")
    assert job.steps_done < 40
    assert AdminNotification.objects.filter(job_id=job.pk).exists()
