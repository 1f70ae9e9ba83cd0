"""The sweep: which pending jobs it publishes, and how the reaper settles silent running jobs."""
from datetime import timedelta

import pytest
from django.utils import timezone

from background_tasks.models import AdminNotification
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep
from tests.testapp.models import SleepJob

AGO = timedelta(minutes=30)


@pytest.fixture
def sweep(settings, django_capture_on_commit_callbacks):
    settings.BACKGROUND_TASKS = {
        **settings.BACKGROUND_TASKS,
        "PUBLISH_GRACE": 10.0,
        "REPUBLISH_AFTER": 600.0,
        "STALE_AFTER": 60.0,
        "MAX_ATTEMPTS": 3,
    }

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return background_tasks_sweep(**kwargs)

    return run


def make_job(**updates):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1)
    SleepJob.objects.filter(pk=job.pk).update(**{"queued_at": None, **updates})
    return job


def status_of(job):
    job.refresh_from_db()
    return job.status


def test_publishes_a_job_that_never_reached_a_queue(db, sweep):
    lost = make_job(created_at=timezone.now() - AGO)

    report = sweep()

    assert report.published == 1
    assert status_of(lost) == TaskStatus.COMPLETED


def test_leaves_a_job_just_created_to_its_own_dispatch(db, sweep):
    fresh = make_job()

    report = sweep()

    assert report.published == 0
    assert status_of(fresh) == TaskStatus.PENDING


def test_republishes_a_job_published_long_ago_but_never_started(db, sweep):
    forgotten = make_job(created_at=timezone.now() - AGO, queued_at=timezone.now() - AGO)
    waiting = make_job(created_at=timezone.now() - AGO, queued_at=timezone.now())

    report = sweep()

    assert report.published == 1
    assert status_of(forgotten) == TaskStatus.COMPLETED
    assert status_of(waiting) == TaskStatus.PENDING  # queued recently: a backlog, not a loss


def test_requeues_a_silent_job_with_attempts_left(db, sweep):
    silent = make_job(status=TaskStatus.RUNNING, heartbeat_at=timezone.now() - AGO, attempts=1)

    report = sweep()

    assert report.requeued == 1
    silent.refresh_from_db()
    assert silent.status == TaskStatus.COMPLETED  # re-published and, in-process here, run again
    assert silent.attempts == 2


def test_leaves_a_job_with_a_recent_heartbeat_alone(db, sweep):
    alive = make_job(status=TaskStatus.RUNNING, heartbeat_at=timezone.now(), attempts=1)

    report = sweep()

    assert (report.requeued, report.failed) == (0, 0)
    assert status_of(alive) == TaskStatus.RUNNING


def test_fails_a_silent_job_that_used_its_attempts(db, sweep):
    silent = make_job(status=TaskStatus.RUNNING, heartbeat_at=timezone.now() - AGO, attempts=3)

    report = sweep()

    assert report.failed == 1
    silent.refresh_from_db()
    assert silent.status == TaskStatus.FAILED
    assert silent.error_message.startswith("Worker lost: no heartbeat for 18")
    assert silent.error_message.endswith("s after 3 attempt(s)")
    assert AdminNotification.objects.filter(job_id=silent.pk).exists()


def test_fails_at_once_a_silent_job_that_must_not_run_twice(db, sweep, monkeypatch):
    monkeypatch.setattr(SleepJob, "requeue_on_worker_lost", False)
    silent = make_job(status=TaskStatus.RUNNING, heartbeat_at=timezone.now() - AGO, attempts=1)

    report = sweep()

    assert report.failed == 1
    assert status_of(silent) == TaskStatus.FAILED


def test_a_silent_job_asked_to_stop_ends_cancelled(db, sweep):
    silent = make_job(
        status=TaskStatus.RUNNING, heartbeat_at=timezone.now() - AGO, attempts=1, cancel_requested=True
    )

    report = sweep()

    assert report.cancelled == 1
    assert status_of(silent) == TaskStatus.CANCELLED
    assert not AdminNotification.objects.exists()
