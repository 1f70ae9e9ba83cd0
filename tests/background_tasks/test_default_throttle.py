"""On a real worker with the default progress throttle: heartbeats keep a silent job alive, cancels arrive."""
import threading

import pytest
from django.db import connection
from django.utils import timezone

from background_tasks.conf import DEFAULTS
from background_tasks.services import background_task_cancel, background_task_create
from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep
from tests.fixtures.celery_worker import WORKER_TIMINGS, wait_until
from tests.testapp.models import SleepJob, ThrottledJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

DEFAULT_THROTTLE = DEFAULTS["PROGRESS_INTERVAL"]


@pytest.fixture
def throttled_worker(celery_worker_factory, settings):
    """A worker with the default progress throttle (and the short heartbeat and staleness of the tests)."""
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "PROGRESS_INTERVAL": DEFAULT_THROTTLE}
    return celery_worker_factory(BACKGROUND_TASKS_PROGRESS_INTERVAL=str(DEFAULT_THROTTLE))


def sweep_until(stop: threading.Event, reports: list) -> None:
    """Sweep every half second, as the janitor or beat would, recording what each sweep did."""
    try:
        while not stop.wait(0.5):
            reports.append(background_tasks_sweep())
    finally:
        connection.close()


def test_a_silent_job_outlives_stale_after_on_its_heartbeat(throttled_worker):
    silent_for = 4 * WORKER_TIMINGS["STALE_AFTER"]
    # One progress call at the start, then silence far longer than STALE_AFTER.
    job = background_task_create(model=SleepJob, triggered_by="test", steps=1, step_seconds=silent_for)
    wait_until(lambda: job.refresh_from_db() or job.is_running(), what="the job to start")
    started_heartbeat = job.heartbeat_at
    reports: list = []
    stop = threading.Event()
    sweeper = threading.Thread(target=sweep_until, args=(stop, reports))
    sweeper.start()
    try:
        wait_until(lambda: job.refresh_from_db() or job.is_terminal(), timeout=60, what="the silent job to finish")
    finally:
        stop.set()
        sweeper.join()

    assert (job.status, job.runs, job.attempts) == (TaskStatus.COMPLETED, 1, 1)
    assert len(reports) >= 5  # the reaper looked again and again while the job was silent
    assert not any(report.requeued or report.failed or report.cancelled for report in reports)
    # The job itself wrote nothing while it slept: its heartbeat moved on the heartbeat thread alone.
    assert (job.completed_at - job.started_at).total_seconds() >= silent_for
    assert job.heartbeat_at > started_heartbeat


def test_a_cancel_reaches_a_throttled_job_within_its_progress_interval(throttled_worker):
    job = background_task_create(model=ThrottledJob, triggered_by="test", seconds=60, tick_seconds=0.01)
    wait_until(lambda: job.refresh_from_db() or job.progress_percent >= 1, what="the job to report progress")

    asked_at = timezone.now()
    assert background_task_cancel(job=job, cancelled_by="test")

    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), timeout=30, what="the job to stop")
    assert job.status == TaskStatus.CANCELLED
    latency = (job.stopped_at - asked_at).total_seconds()
    # The throttled job sees the request at its next progress write (about one interval later), not at
    # the end of its 60 s; the bound is loose so that a loaded machine only makes the test slower.
    assert latency < DEFAULT_THROTTLE + 15, f"the cancel took {latency:.2f}s to reach the job"
    assert job.calls > 100  # it kept calling progress(); only the throttle decided when the row was read
