"""Subscription maintenance: each transition, idempotence, the stored schedule, the trigger."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from background_tasks.status import TaskStatus
from tests.factories import SubscriptionFactory
from wizamart.marketplace.models import Subscription, SubscriptionMaintenanceRun
from wizamart.marketplace.services import add_interval

pytestmark = pytest.mark.django_db


def run_maintenance(run_on_commit):
    from background_tasks.services import background_task_create

    job = run_on_commit(background_task_create, model=SubscriptionMaintenanceRun, triggered_by="manual:test")
    job.refresh_from_db()
    return job


def test_ended_trial_is_expired(run_on_commit):
    sub = SubscriptionFactory(status=Subscription.Status.TRIALING, trial_end=timezone.now() - timedelta(hours=1))
    running_trial = SubscriptionFactory(status=Subscription.Status.TRIALING, trial_end=timezone.now() + timedelta(days=3))

    job = run_maintenance(run_on_commit)

    sub.refresh_from_db()
    running_trial.refresh_from_db()
    assert sub.status == Subscription.Status.EXPIRED
    assert running_trial.status == Subscription.Status.TRIALING
    assert job.status == TaskStatus.COMPLETED
    assert job.counts["expired_trials"] == 1


def test_cancelled_at_period_end_is_expired(run_on_commit):
    sub = SubscriptionFactory(cancel_at_period_end=True, current_period_end=timezone.now() - timedelta(minutes=5))

    job = run_maintenance(run_on_commit)

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.EXPIRED
    assert job.counts["expired_at_period_end"] == 1


def test_auto_renewing_period_is_renewed_to_the_future(run_on_commit):
    end = timezone.now() - timedelta(days=40)  # missed more than one monthly period
    sub = SubscriptionFactory(auto_renew=True, current_period_end=end)

    job = run_maintenance(run_on_commit)

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.current_period_end > timezone.now()
    assert sub.current_period_start <= timezone.now()
    assert sub.current_period_end == add_interval(sub.current_period_start, Subscription.Interval.MONTH)
    assert job.counts["renewed"] == 1


def test_unpaid_ended_period_goes_past_due(run_on_commit):
    sub = SubscriptionFactory(auto_renew=False, current_period_end=timezone.now() - timedelta(days=1))
    current = SubscriptionFactory(auto_renew=False)

    job = run_maintenance(run_on_commit)

    sub.refresh_from_db()
    current.refresh_from_db()
    assert sub.status == Subscription.Status.PAST_DUE
    assert current.status == Subscription.Status.ACTIVE
    assert job.counts["past_due"] == 1


def test_second_run_changes_nothing_more(run_on_commit):
    now = timezone.now()
    SubscriptionFactory(status=Subscription.Status.TRIALING, trial_end=now - timedelta(hours=1))
    SubscriptionFactory(auto_renew=True, current_period_end=now - timedelta(days=1))
    SubscriptionFactory(auto_renew=False, current_period_end=now - timedelta(days=1))
    SubscriptionFactory(cancel_at_period_end=True, current_period_end=now - timedelta(days=1))

    first = run_maintenance(run_on_commit)
    state = list(Subscription.objects.order_by("pk").values("status", "current_period_start", "current_period_end"))
    second = run_maintenance(run_on_commit)

    assert sum(first.counts.values()) == 4
    assert second.counts == {"expired_trials": 0, "expired_at_period_end": 0, "renewed": 0, "past_due": 0}
    assert list(Subscription.objects.order_by("pk").values("status", "current_period_start", "current_period_end")) == state


def test_month_end_renewal_clamps_to_shorter_month():
    jan31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert add_interval(jan31, Subscription.Interval.MONTH).day == 28
    assert add_interval(jan31, Subscription.Interval.YEAR).year == 2027


def test_daily_schedule_is_stored_in_the_database():
    task = PeriodicTask.objects.get(name="Daily subscription maintenance")
    assert task.enabled
    assert task.task == "background_tasks.run_scheduled"
    assert json.loads(task.kwargs) == {"task_type": "subscription_maintenance"}
    assert task.queue == "scheduled"
    assert task.crontab is not None


def test_the_scheduled_start_task_marks_its_job_scheduled():
    """run_scheduled applied in-process (real beats: tests/background_tasks/test_beat.py)."""
    from background_tasks.celery_tasks import run_scheduled

    result = run_scheduled.apply(kwargs={"task_type": "subscription_maintenance"}).get()

    job = SubscriptionMaintenanceRun.objects.get(pk=result["job_id"])
    assert job.triggered_by == "scheduled"
    assert job.status == TaskStatus.COMPLETED


def test_api_trigger_answers_202_and_runs(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/api/v1/marketplace/subscription-maintenance", format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["task_type"] == "subscription_maintenance"
    assert body["status"] == TaskStatus.PENDING
    job = SubscriptionMaintenanceRun.objects.get(pk=body["job_id"])
    assert job.status == TaskStatus.COMPLETED
    assert job.triggered_by.startswith("api:")


@pytest.mark.django_db(transaction=True)
def test_command_waits_and_prints_counts(capsys):
    SubscriptionFactory(status=Subscription.Status.TRIALING, trial_end=timezone.now() - timedelta(hours=1))

    call_command("run_subscription_maintenance", "--wait")

    out = capsys.readouterr().out
    assert "completed" in out
    assert "'expired_trials': 1" in out
    assert SubscriptionMaintenanceRun.objects.get().triggered_by.startswith("cli:")
