"""Real `celery beat` processes (DatabaseScheduler) and a real worker: the schedules as deployed."""
import json
from datetime import timedelta

import pytest
from celery import states
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from background_tasks.celery_tasks import DUPLICATE
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

SCHEDULE = "Maintenance every 5 seconds"
SWEEP = "background-tasks-sweep"


@pytest.fixture
def five_second_schedule(transactional_db):
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name=SCHEDULE,
        task="background_tasks.run_scheduled",
        interval=every,
        kwargs=json.dumps({"task_type": SubscriptionMaintenanceRun.task_type}),
        queue="scheduled",
    )


def test_two_beats_make_one_job_per_tick(celery_worker, celery_beat_factory, five_second_schedule):
    first = celery_beat_factory()
    # The second starts once the first has written the schedules (two beats creating one row would race).
    wait_until(lambda: first.sent(SCHEDULE) >= 1, timeout=30, what="the first beat to send")
    second = celery_beat_factory()
    beats = [first, second]

    wait_until(lambda: min(beat.sent(SCHEDULE) for beat in beats) >= 4, timeout=90, what="both beats to send 4 ticks")
    for beat in beats:
        beat.stop()
    sent = sum(beat.sent(SCHEDULE) for beat in beats)
    results = TaskResult.objects.filter(periodic_task_name=SCHEDULE)

    # Every message sent is accounted for: it made (and ran) its tick's job, or found it made already.
    wait_until(lambda: results.count() >= sent, timeout=60, what="every beat message to be handled")
    runs = list(SubscriptionMaintenanceRun.objects.order_by("tick"))
    assert runs and {run.schedule for run in runs} == {SCHEDULE}
    assert {run.triggered_by for run in runs} == {"scheduled"}
    assert len({run.tick for run in runs}) == len(runs)
    assert all(run.tick.timestamp() % 5 == 0 for run in runs)
    # The ticks come from the time each beat stamped on its message, not from when a worker got it.
    assert "stands for tick" in celery_worker.log() and "(unstamped)" not in celery_worker.log()
    wait_until(lambda: not SubscriptionMaintenanceRun.objects.filter(status__in=TaskStatus.active()).exists())
    assert {run.status for run in SubscriptionMaintenanceRun.objects.all()} == {TaskStatus.COMPLETED}
    assert results.filter(status=states.SUCCESS).count() == len(runs)
    assert results.filter(status=DUPLICATE).count() == sent - len(runs) > 0
    # Two beats sent about twice the ticks; the jobs are what one beat alone would have made.
    assert len(runs) <= max(beat.sent(SCHEDULE) for beat in beats) + 1 < sent


def test_beat_sends_the_sweep_and_a_worker_runs_it(celery_worker, celery_beat_factory):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1)
    # A job whose publish never happened (the web process died between commit and publish).
    SleepJob.objects.filter(pk=job.pk).update(queued_at=None, created_at=timezone.now() - timedelta(minutes=5))

    beat = celery_beat_factory(BACKGROUND_TASKS_SWEEP_INTERVAL="1")

    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), timeout=60, what="the swept job to finish")
    assert (job.status, job.runs) == (TaskStatus.COMPLETED, 1)
    entry = PeriodicTask.objects.get(name=SWEEP)
    assert (entry.task, entry.interval.every, entry.interval.period) == ("background_tasks.sweep", 1, "seconds")
    assert beat.sent(SWEEP) >= 1
    assert "Task background_tasks.sweep[" in celery_worker.log()
