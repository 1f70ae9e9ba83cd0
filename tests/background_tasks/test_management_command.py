"""The `background_tasks` command (list, show, cancel, retry, reap) and `run_subscription_maintenance --wait`."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.factories import SubscriptionFactory
from tests.testapp.models import FailJob, SleepJob
from wizamart.marketplace.models import Subscription, SubscriptionMaintenanceRun


def run(*args) -> str:
    out = StringIO()
    call_command("background_tasks", *args, stdout=out)
    return out.getvalue()


def test_list_shows_jobs_newest_first_and_filters(db, run_on_commit):
    failed = run_on_commit(background_task_create, model=FailJob, triggered_by="test", reason="nope")
    pending = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)

    everything = run("list")
    only_failed = run("list", "--status", TaskStatus.FAILED)
    only_sleep = run("list", "--type", SleepJob.task_type)

    assert everything.index(f"{pending.pk:>8}") < everything.index(f"{failed.pk:>8}")
    assert f"{failed.pk:>8}" in only_failed and f"{pending.pk:>8}" not in only_failed
    assert f"{pending.pk:>8}" in only_sleep and FailJob.task_type not in only_sleep


def test_list_with_nothing_says_so(db):
    assert run("list").strip() == "No jobs."


def test_list_rejects_a_bad_limit(db):
    with pytest.raises(CommandError, match="--limit"):
        run("list", "--limit", "0")


def test_show_prints_the_status_body(db, run_on_commit):
    job = run_on_commit(background_task_create, model=FailJob, triggered_by="cli:dan", reason="Bad feed")

    out = run("show", str(job.pk))

    assert f"id: {job.pk}" in out
    assert "status: failed" in out
    assert "error_message: Bad feed" in out
    assert "triggered_by: cli:dan" in out


def test_unknown_id_is_a_command_error(db):
    with pytest.raises(CommandError, match="No background task with id 999999"):
        run("show", "999999")


def test_cancel_a_pending_job(db):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)

    out = run("cancel", str(job.pk))

    job.refresh_from_db()
    assert job.status == TaskStatus.CANCELLED
    assert f"Job #{job.pk}" in out


def test_cancel_a_finished_job_is_refused(db, run_on_commit):
    job = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=1)

    with pytest.raises(CommandError, match="cannot be cancelled"):
        run("cancel", str(job.pk))


def test_retry_reruns_a_failed_job(db, django_capture_on_commit_callbacks, run_on_commit):
    job = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=2, fail_at_step=0)
    SleepJob.objects.filter(pk=job.pk).update(fail_at_step=None)

    with django_capture_on_commit_callbacks(execute=True):
        out = run("retry", str(job.pk))

    job.refresh_from_db()
    assert "queued again" in out
    assert job.status == TaskStatus.COMPLETED
    assert job.triggered_by.startswith("cli:")


def test_retry_of_a_pending_job_is_refused(db):
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)

    with pytest.raises(CommandError, match="only failed or cancelled"):
        run("retry", str(job.pk))


def test_reap_fails_a_silent_job_without_attempts_left(db, settings):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "MAX_ATTEMPTS": 1, "STALE_AFTER": 60}
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False)
    silent_since = timezone.now() - timedelta(minutes=10)
    SleepJob.objects.filter(pk=job.pk).update(status=TaskStatus.RUNNING, heartbeat_at=silent_since, attempts=1)

    out = run("reap")

    job.refresh_from_db()
    assert "1 failed (worker lost)" in out
    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("Worker lost")


@pytest.mark.celery_worker
@pytest.mark.postgres
def test_run_subscription_maintenance_wait_follows_the_worker(celery_worker):
    SubscriptionFactory(status=Subscription.Status.TRIALING, trial_end=timezone.now() - timedelta(days=2))
    out = StringIO()

    call_command("run_subscription_maintenance", "--wait", stdout=out)

    job = SubscriptionMaintenanceRun.objects.get()
    assert job.status == TaskStatus.COMPLETED
    assert job.celery_task_id  # it went through the worker, not this process
    assert job.triggered_by.startswith("cli:")
    assert f"Queued subscription maintenance run #{job.pk}" in out.getvalue()
    assert "'expired_trials': 1" in out.getvalue()


@pytest.mark.celery_worker
@pytest.mark.postgres
def test_run_subscription_maintenance_without_wait_returns_at_once(celery_worker):
    out = StringIO()

    call_command("run_subscription_maintenance", stdout=out)

    job = SubscriptionMaintenanceRun.objects.get()
    assert f"Queued subscription maintenance run #{job.pk}" in out.getvalue()
    assert "Counts" not in out.getvalue()
    assert job.celery_task_id
