"""The scheduled start task, applied in-process with the headers a beat stamps: one job per tick.

No beat runs here: these tests hand run_scheduled the messages a beat would send. Real beats
(two at once, the DatabaseScheduler, a worker) are in test_beat.py.
"""
import json

import pytest
from celery import states
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from background_tasks.celery_tasks import DUPLICATE, run_scheduled
from background_tasks.schedules import SENT_AT_HEADER, schedule_tick
from background_tasks.status import TaskStatus
from tests.testapp.models import SleepJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun

SCHEDULE = "Maintenance every 5 seconds"


@pytest.fixture
def five_second_schedule(db):
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name=SCHEDULE,
        task="background_tasks.run_scheduled",
        interval=every,
        kwargs=json.dumps({"task_type": SubscriptionMaintenanceRun.task_type}),
    )


def stamped_start(task_id, *, sent_at, schedule=SCHEDULE):
    """Apply run_scheduled in-process as a message of ``schedule`` sent at ``sent_at`` (the headers a beat sets)."""
    return run_scheduled.apply(
        kwargs={"task_type": SubscriptionMaintenanceRun.task_type},
        task_id=task_id,
        headers={"periodic_task_name": schedule, SENT_AT_HEADER: sent_at},
    )


def test_scheduled_start_creates_and_runs_a_job(db):
    result = run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-1").get()

    job = SleepJob.objects.get()
    assert result == {"job_id": job.pk, "task_type": SleepJob.task_type, "status": TaskStatus.COMPLETED}
    assert job.triggered_by == "scheduled"
    assert job.celery_task_id == "beat-1"


def test_redelivered_start_message_reuses_its_job_and_is_ignored(db):
    run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-2").get()

    again = run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-2")

    assert again.state == states.IGNORED
    assert SleepJob.objects.count() == 1
    assert SleepJob.objects.get().runs == 1


def test_each_start_of_a_type_without_ticks_is_its_own_job(db):
    run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-3").get()
    run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-4").get()

    assert SleepJob.objects.filter(status=TaskStatus.COMPLETED).count() == 2


def test_tick_is_the_send_time_truncated_to_the_schedule_period(five_second_schedule):
    assert schedule_tick(schedule=SCHEDULE, sent_at=1_000.2) == schedule_tick(schedule=SCHEDULE, sent_at=1_004.9)
    assert schedule_tick(schedule=SCHEDULE, sent_at=1_005.0).timestamp() == 1_005.0
    # Crontab and other schedules tick at most once a minute.
    assert schedule_tick(schedule="no such schedule", sent_at=1_259.0).timestamp() == 1_200.0


def test_a_second_start_stamped_in_the_same_tick_returns_the_first_ones_job(five_second_schedule):
    first = stamped_start("beat-a", sent_at=1_000.3).get()

    second = stamped_start("beat-b", sent_at=1_004.1)

    job = SubscriptionMaintenanceRun.objects.get()
    assert first == {"job_id": job.pk, "task_type": job.task_type, "status": TaskStatus.COMPLETED}
    assert (job.schedule, job.tick.timestamp(), job.celery_task_id) == (SCHEDULE, 1_000.0, "beat-a")
    assert job.get_details()["schedule"] == SCHEDULE and job.get_details()["tick"] == job.tick.isoformat()
    assert second.state == states.IGNORED
    duplicate = TaskResult.objects.get(task_id="beat-b")
    assert duplicate.status == DUPLICATE
    assert json.loads(duplicate.result) == {"duplicate_of_job": job.pk, "job_task_id": "beat-a"}


def test_a_start_stamped_in_the_next_tick_makes_the_next_job(five_second_schedule):
    stamped_start("beat-c", sent_at=1_000.3).get()
    stamped_start("beat-d", sent_at=1_005.2).get()

    ticks = sorted(run.tick.timestamp() for run in SubscriptionMaintenanceRun.objects.all())
    assert ticks == [1_000.0, 1_005.0]


def test_a_run_started_by_hand_carries_no_tick(db, run_on_commit):
    from background_tasks.services import background_task_create

    run_on_commit(background_task_create, model=SubscriptionMaintenanceRun, triggered_by="test")
    run_on_commit(background_task_create, model=SubscriptionMaintenanceRun, triggered_by="test")

    assert list(SubscriptionMaintenanceRun.objects.values_list("schedule", "tick")) == [("", None), ("", None)]
