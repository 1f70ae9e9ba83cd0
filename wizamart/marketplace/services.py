"""Write side of the marketplace: subscription maintenance."""
from __future__ import annotations

import calendar
from datetime import datetime

from django.utils import timezone

from background_tasks.jobs import JobProgress, Outcome
from background_tasks.services import background_task_create

from .models import Subscription, SubscriptionMaintenanceRun

MAINTENANCE_STEPS = ("expired_trials", "expired_at_period_end", "renewed", "past_due")


def add_interval(moment: datetime, interval: str) -> datetime:
    """Return ``moment`` one billing interval later (month ends clamp: Jan 31 -> Feb 28)."""
    months = 12 if interval == Subscription.Interval.YEAR else 1
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def subscriptions_expire_trials(*, now: datetime) -> int:
    """Expire trials that have ended."""
    return Subscription.objects.ended_trials(now).update(status=Subscription.Status.EXPIRED, updated_at=now)


def subscriptions_expire_cancelled(*, now: datetime) -> int:
    """Expire subscriptions cancelled at the end of a period that is now over."""
    return (
        Subscription.objects.ended_periods(now)
        .filter(cancel_at_period_end=True)
        .update(status=Subscription.Status.EXPIRED, auto_renew=False, updated_at=now)
    )


def subscriptions_renew(*, now: datetime) -> int:
    """Start the next period of auto-renewing subscriptions whose period is over."""
    renewed = 0
    due = Subscription.objects.ended_periods(now).filter(auto_renew=True, cancel_at_period_end=False)
    for sub in due.only("pk", "interval", "current_period_end").iterator(chunk_size=500):
        start = sub.current_period_end
        end = add_interval(start, sub.interval)
        while end <= now:  # catch up on periods missed while maintenance did not run
            start, end = end, add_interval(end, sub.interval)
        # Conditional on the old period end: a concurrent run renews each period only once.
        renewed += Subscription.objects.active().filter(pk=sub.pk, current_period_end=sub.current_period_end).update(
            current_period_start=start, current_period_end=end, updated_at=now
        )
    return renewed


def subscriptions_mark_past_due(*, now: datetime) -> int:
    """Move subscriptions whose period ended unpaid (no auto-renewal) to past_due."""
    return (
        Subscription.objects.ended_periods(now)
        .filter(auto_renew=False, cancel_at_period_end=False)
        .update(status=Subscription.Status.PAST_DUE, updated_at=now)
    )


def subscription_maintenance_create(*, triggered_by: str) -> SubscriptionMaintenanceRun:
    """Create a subscription maintenance run and dispatch it once the transaction commits."""
    return background_task_create(model=SubscriptionMaintenanceRun, triggered_by=triggered_by)


def subscription_maintenance_execute(*, run: SubscriptionMaintenanceRun, progress: JobProgress) -> Outcome:
    """Apply every maintenance step once; running it again changes nothing more."""
    now = timezone.now()
    steps = {
        "expired_trials": subscriptions_expire_trials,
        "expired_at_period_end": subscriptions_expire_cancelled,
        "renewed": subscriptions_renew,
        "past_due": subscriptions_mark_past_due,
    }
    counts = {}
    for index, (name, step) in enumerate(steps.items()):
        progress(index * 100 // len(steps), f"Step {index + 1} of {len(steps)}: {name.replace('_', ' ')}", force=True)
        counts[name] = step(now=now)
    run.counts = counts
    run.save(update_fields=["counts"])
    changed = sum(counts.values())
    return Outcome(message=f"{changed} subscription{'s' if changed != 1 else ''} updated")
