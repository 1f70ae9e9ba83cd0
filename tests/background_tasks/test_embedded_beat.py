"""The embedded beat (USE_CELERY=false): the database's beat schedules run in-process, once per tick."""
import json
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from background_tasks import inprocess
from background_tasks.embedded_beat import RUN_SCHEDULED, _claim, run_due_schedules
from background_tasks.schedules import scheduled_job_start
from background_tasks.services import background_task_create
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob
from wizamart.marketplace.models import SubscriptionMaintenanceRun

MAINTENANCE = {"task_type": SubscriptionMaintenanceRun.task_type}


@pytest.fixture
def beat_settings(settings, transactional_db):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "EAGER": True, "BEAT_MAX_INTERVAL": 0.2, "SWEEP_INTERVAL": 3600.0}
    yield settings
    inprocess.stop_janitor(timeout=30)


def schedule(name="Maintenance", *, every=1, period=IntervalSchedule.HOURS, last_run_at=None, **fields):
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    return PeriodicTask.objects.create(
        name=name, task=RUN_SCHEDULED, interval=interval, kwargs=json.dumps(MAINTENANCE), queue="scheduled",
        last_run_at=last_run_at, **fields,
    )


def runs_of(task):
    return SubscriptionMaintenanceRun.objects.filter(schedule=task.name)


def run_beats_for(seconds, runners=1):
    """Run ``runners`` embedded beats side by side (threads, each with its own connection) for ``seconds``."""
    start = threading.Barrier(runners)
    errors = []

    def loop():
        from django.db import connection

        start.wait()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                run_due_schedules()
                time.sleep(0.02)
        except Exception as exc:  # surfaced in the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=loop) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    assert not errors, errors


def test_a_schedule_due_in_a_second_runs_once_with_two_runners(beat_settings):
    # Given an hourly schedule whose next run is one second away
    task = schedule(last_run_at=timezone.now() - timedelta(hours=1) + timedelta(seconds=1))

    # When two runners look at it every 20 ms for three seconds
    run_beats_for(3, runners=2)

    # Then one job ran, for one tick, and the schedule counts one run
    assert runs_of(task).count() == 1
    job = runs_of(task).get()
    assert job.triggered_by == "scheduled"
    assert job.is_succeeded()
    task.refresh_from_db()
    assert task.total_run_count == 1
    assert task.last_run_at > timezone.now() - timedelta(seconds=10)


def test_the_database_decides_which_runner_gets_a_tick(beat_settings):
    task = schedule(last_run_at=timezone.now() - timedelta(hours=2))
    first, second = PeriodicTask.objects.get(pk=task.pk), PeriodicTask.objects.get(pk=task.pk)

    # Both runners read the same last run: the first conditional update wins, the second finds it changed.
    assert _claim(first, previous=first.last_run_at) is True
    assert _claim(second, previous=second.last_run_at) is False
    assert PeriodicTask.objects.get(pk=task.pk).total_run_count == 1


def test_never_run_schedule_is_claimed_once(beat_settings):
    task = schedule()
    copies = [PeriodicTask.objects.get(pk=task.pk) for _ in range(2)]

    assert [_claim(row, previous=None) for row in copies] == [True, False]


def test_a_tick_makes_one_job_even_if_two_runners_start_it(beat_settings):
    task = schedule()

    first = scheduled_job_start(model=SubscriptionMaintenanceRun, schedule=task.name)
    second = scheduled_job_start(model=SubscriptionMaintenanceRun, schedule=task.name)

    assert first is not None and second is None
    assert runs_of(task).count() == 1


def test_a_disabled_schedule_never_runs(beat_settings):
    task = schedule(last_run_at=timezone.now() - timedelta(days=3), enabled=False)

    run_beats_for(1)

    assert not runs_of(task).exists()
    task.refresh_from_db()
    assert task.total_run_count == 0


def test_a_one_off_schedule_runs_once(beat_settings):
    task = schedule(every=1, period=IntervalSchedule.SECONDS, one_off=True)

    run_beats_for(3, runners=2)

    assert runs_of(task).count() == 1
    task.refresh_from_db()
    assert task.enabled is False


def test_an_every_second_schedule_runs_once_per_tick(beat_settings):
    task = schedule(every=1, period=IntervalSchedule.SECONDS)

    run_beats_for(3.5, runners=2)

    task.refresh_from_db()
    ticks = list(runs_of(task).values_list("tick", flat=True))
    assert 2 <= len(ticks) <= 4
    assert len(set(ticks)) == len(ticks) == task.total_run_count


def test_edits_in_the_database_take_effect(beat_settings):
    # Ran a minute ago, hourly: not due
    task = schedule(last_run_at=timezone.now() - timedelta(minutes=1))
    run_due_schedules()
    assert not runs_of(task).exists()

    # Edited to every 30 seconds (as in the admin): due now
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    task.save()
    run_due_schedules()
    assert runs_of(task).count() == 1

    # Disabled, then due again: nothing more runs
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False, last_run_at=timezone.now() - timedelta(hours=1))
    run_due_schedules()
    assert runs_of(task).count() == 1


def test_a_schedule_before_its_start_time_waits(beat_settings):
    task = schedule(last_run_at=timezone.now() - timedelta(days=1), start_time=timezone.now() + timedelta(hours=1))

    run_due_schedules()

    assert not runs_of(task).exists()


def test_an_expired_schedule_does_not_run(beat_settings):
    task = schedule(last_run_at=timezone.now() - timedelta(days=1), expires=timezone.now() - timedelta(minutes=1))

    run_due_schedules()

    assert not runs_of(task).exists()
    task.refresh_from_db()
    assert task.enabled is False


def test_a_crontab_schedule_runs_when_its_minute_has_passed(beat_settings):
    every_minute, _ = CrontabSchedule.objects.get_or_create(minute="*", hour="*", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="Every minute", task=RUN_SCHEDULED, crontab=every_minute, kwargs=json.dumps(MAINTENANCE),
        last_run_at=timezone.now() - timedelta(minutes=2),
    )

    ran, _ = run_due_schedules()

    assert [(run.schedule, run.job_id) for run in ran] == [(task.name, runs_of(task).get().pk)]


def test_a_plain_celery_task_schedule_runs_in_process(beat_settings):
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(
        name="Purge exports", task="exports.purge_expired_files", interval=hourly,
        last_run_at=timezone.now() - timedelta(hours=2),
    )

    ran, _ = run_due_schedules()

    assert [(run.schedule, run.task, run.job_id) for run in ran] == [(task.name, "exports.purge_expired_files", None)]
    task.refresh_from_db()
    assert task.total_run_count == 1


def test_the_janitor_runs_the_schedules(beat_settings):
    task = schedule(last_run_at=timezone.now() - timedelta(hours=1) + timedelta(seconds=1))

    inprocess.start_janitor()

    wait_until(lambda: runs_of(task).filter(completed_at__isnull=False).exists(), timeout=30, what="the janitor's beat")
    assert runs_of(task).count() == 1


def test_the_janitor_leaves_the_schedules_alone_when_turned_off(beat_settings):
    beat_settings.BACKGROUND_TASKS = {**beat_settings.BACKGROUND_TASKS, "EMBEDDED_BEAT": False}
    task = schedule(last_run_at=timezone.now() - timedelta(days=1))
    waiting = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1)

    inprocess.start_janitor()
    # The janitor is at work: its start-up sweep runs the waiting job, then it would read the schedules.
    wait_until(lambda: SleepJob.objects.get(pk=waiting.pk).is_terminal(), timeout=30, what="the start-up sweep")
    time.sleep(1)

    assert not runs_of(task).exists()


# Load the WSGI entry point as a server would (its janitor starts), say so, then live on.
SERVE = "import importlib, sys, time; importlib.import_module('wizamart.wsgi'); print('ready', flush=True); time.sleep(120)"


def test_two_server_processes_on_one_database_run_each_tick_once(transactional_db, tmp_path):
    import os
    import subprocess
    import sys

    from tests.background_tasks.test_janitor_started_by_server import server_database_url
    from tests.fixtures.celery_worker import REPO_ROOT

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": server_database_url(),
        "USE_CELERY": "false",
    }
    servers, logs = [], []
    try:
        for n in range(2):
            logs.append(open(tmp_path / f"server-{n}.log", "w+"))
            servers.append(subprocess.Popen([sys.executable, "-c", SERVE], cwd=REPO_ROOT, env=env, stdout=logs[-1], stderr=subprocess.STDOUT, text=True))
        wait_until(lambda: all("ready" in (tmp_path / f"server-{n}.log").read_text() for n in range(2)), timeout=60, what="both servers")
        # Given a schedule due every second, added while both servers run
        task = schedule("Every second", every=1, period=IntervalSchedule.SECONDS)
        wait_until(lambda: runs_of(task).count() >= 4, timeout=60, what="four ticks")
        # (stopped before the servers, so that no run is cut between its claim and its job)
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
        wait_until(lambda: runs_of(task).count() == PeriodicTask.objects.get(pk=task.pk).total_run_count, timeout=30, what="the last job")
    finally:
        for server in servers:
            server.kill()
            server.wait(10)
        for log in logs:
            log.close()

    # Then each tick made one job, and the schedule counted one run per job
    task.refresh_from_db()
    ticks = list(runs_of(task).values_list("tick", flat=True))
    assert len(ticks) == len(set(ticks)) == task.total_run_count, [log.name for log in logs]
