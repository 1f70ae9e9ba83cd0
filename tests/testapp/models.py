"""Test-only job types: DemoJob for the pages, SleepJob/FailJob/ThrottledJob for the machinery, TinyJob for the benchmark."""
from __future__ import annotations

import os
import time

from django.db import connection, models
from django.db.models import F
from django.utils import timezone

from background_tasks.jobs import JobFailed, Outcome
from background_tasks.models import BackgroundTask


class DemoJob(BackgroundTask):
    """Walks ``steps`` steps, reporting progress at each; fails at ``fail_at_step`` if set."""

    task_type = "demo_job"

    steps = models.PositiveSmallIntegerField(default=5)
    fail_at_step = models.PositiveSmallIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    steps_done = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta(BackgroundTask.Meta):
        verbose_name = "demo job"

    def execute(self, progress):
        for step in range(self.steps):
            if self.fail_at_step is not None and step == self.fail_at_step:
                raise JobFailed(f"Step {step + 1} broke: the demo job was told to fail here")
            progress(step * 100 // self.steps, f"Step {step + 1} of {self.steps}", force=True)
            self.steps_done = step + 1
            self.save(update_fields=["steps_done"])
        return Outcome(warnings=list(self.warnings), message=f"{self.steps_done} steps done")

    def get_details(self) -> dict:
        return {
            "steps_done": self.steps_done,
            "warnings": list(self.warnings),
            "report": f"/admin/testapp/demojob/{self.pk}/change/",
        }


def _db_backend_pid() -> int | None:
    """Return the PostgreSQL backend pid of this thread's connection (None elsewhere)."""
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return connection.connection.info.backend_pid


class SleepJob(BackgroundTask):
    """Sleep ``steps`` times ``step_seconds``, reporting progress each step; optionally fail or crash.

    Each start is recorded (``runs``, the worker's pid and its database session) so tests can see
    who ran it and how often.
    """

    task_type = "test_sleep"
    queue = "long_running"

    steps = models.PositiveIntegerField(default=3)
    step_seconds = models.FloatField(default=0.0)
    # Fail with JobFailed (a readable error) at this step; crash with an unexpected error when crash is set.
    fail_at_step = models.IntegerField(null=True, blank=True)
    crash = models.BooleanField(default=False)
    warnings = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    worker_pid = models.IntegerField(null=True, blank=True)
    db_backend_pid = models.IntegerField(null=True, blank=True)
    steps_done = models.PositiveIntegerField(default=0)

    def execute(self, progress):
        type(self).objects.filter(pk=self.pk).update(
            runs=F("runs") + 1, worker_pid=os.getpid(), db_backend_pid=_db_backend_pid(), steps_done=0
        )
        for step in range(self.steps):
            progress(step * 100 // max(self.steps, 1), f"Step {step + 1} of {self.steps}", force=True)
            if step == self.fail_at_step:
                if self.crash:
                    raise ValueError(f"boom at step {step + 1}")
                raise JobFailed(f"Step {step + 1} refused to run")
            time.sleep(self.step_seconds)
            type(self).objects.filter(pk=self.pk).update(steps_done=F("steps_done") + 1)
        return Outcome(warnings=[f"warning {n + 1}" for n in range(self.warnings)], message=f"Slept {self.steps} steps")

    def get_details(self) -> dict:
        return {"steps": self.steps, "steps_done": self.steps_done, "runs": self.runs}


class FailJob(BackgroundTask):
    """Fail at once: with a readable message, or with an unexpected exception when ``crash`` is set."""

    task_type = "test_fail"
    queue = "default"

    reason = models.CharField(max_length=200, default="The test job failed on purpose")
    crash = models.BooleanField(default=False)

    def execute(self, progress):
        progress(10, "About to fail", force=True)
        if self.crash:
            raise RuntimeError(self.reason)
        raise JobFailed(self.reason)


class ThrottledJob(BackgroundTask):
    """Report progress without ``force`` every ``tick_seconds`` for ``seconds``: the throttle decides what is written.

    Records how many progress calls it made and when its work stopped, so tests can see how soon a
    cancel reached it.
    """

    task_type = "test_throttled"
    queue = "long_running"

    seconds = models.FloatField(default=5.0)
    tick_seconds = models.FloatField(default=0.01)
    calls = models.PositiveIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)

    def execute(self, progress):
        deadline = time.monotonic() + self.seconds
        calls = 0
        try:
            while time.monotonic() < deadline:
                calls += 1
                progress(min(99, calls // 10), f"Call {calls}")
                time.sleep(self.tick_seconds)
        finally:
            type(self).objects.filter(pk=self.pk).update(calls=calls, stopped_at=timezone.now())
        return Outcome(message=f"{calls} progress calls")


class BenchCounter(models.Model):
    """Rows the tiny benchmark job and its bare-Celery peer update."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"counter #{self.pk} = {self.value}"


class TinyJob(BackgroundTask):
    """One small UPDATE: the smallest real job, for measuring the machinery's own overhead."""

    task_type = "bench_tiny"
    # Its own queue: the benchmark purges and consumes only this one.
    queue = "bench"

    counter_id = models.BigIntegerField()

    def execute(self, progress):
        progress(50, "Updating")
        BenchCounter.objects.filter(pk=self.counter_id).update(value=F("value") + 1)
        return None
