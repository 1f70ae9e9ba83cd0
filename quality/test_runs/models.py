"""The test run job (a pytest run of the project's suite) and its per-test results."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from background_tasks.models import BackgroundTask
from background_tasks.querysets import BackgroundTaskQuerySet
from background_tasks.status import TaskStatus

SLOWEST_COUNT = 10
FAILURES_SHOWN = 20
PROJECT_SUITE = "tests"


class TestRun(BackgroundTask):
    """One pytest run of the project's own suite (or a selection of it), in a subprocess."""

    __test__ = False  # not a pytest test class, whatever its name

    task_type = "test_run"
    queue = "long_running"
    # A run killed with its worker is started again from scratch: it writes only its own rows.
    requeue_on_worker_lost = True

    # Which suite runs: one active run per suite, enforced by the database (see Meta.constraints).
    suite = models.CharField(max_length=50, default=PROJECT_SUITE, editable=False)
    paths = models.JSONField(
        default=list, blank=True, help_text="Test paths or node ids under tests/; empty runs the whole suite."
    )
    keyword = models.CharField(max_length=200, blank=True, default="", help_text="A -k expression.")
    markers = models.CharField(max_length=200, blank=True, default="", help_text="A -m expression.")
    maxfail = models.PositiveIntegerField(null=True, blank=True, help_text="Stop after this many failures.")

    exit_code = models.SmallIntegerField(null=True, editable=False)
    process_id = models.PositiveIntegerField(null=True, editable=False, help_text="pid (and process group) of pytest.")
    git_commit = models.CharField(max_length=64, blank=True, default="", editable=False)
    command = models.JSONField(default=list, blank=True, editable=False, help_text="The exact argv that ran.")
    totals = models.JSONField(default=dict, blank=True, editable=False, help_text="Tests by outcome.")
    tests_collected = models.PositiveIntegerField(default=0, editable=False)
    tests_done = models.PositiveIntegerField(default=0, editable=False)
    tests_failed = models.PositiveIntegerField(default=0, editable=False, help_text="Failed or errored.")
    run_seconds = models.FloatField(null=True, editable=False, help_text="Wall time of pytest.")
    collection_errors = models.JSONField(default=list, blank=True, editable=False)
    output_tail = models.TextField(blank=True, default="", editable=False, help_text="The end of pytest's output.")

    objects = BackgroundTaskQuerySet.as_manager()

    class Meta(BackgroundTask.Meta):
        verbose_name = "test run"
        constraints = [
            models.UniqueConstraint(
                fields=["suite"],
                condition=Q(status__in=[TaskStatus.PENDING, TaskStatus.RUNNING]),
                name="quality_one_active_test_run",
            )
        ]

    def execute(self, progress):
        from .services import test_run_execute

        return test_run_execute(job=self, progress=progress)

    def selection_display(self) -> str:
        from .selection import Selection

        return Selection(paths=self.paths, keyword=self.keyword, markers=self.markers, maxfail=self.maxfail).describe()

    def get_details(self) -> dict:
        from .selectors import test_run_details

        return test_run_details(run=self)


class TestResult(models.Model):
    """The outcome of one test in one run, as the JUnit report of pytest gave it."""

    __test__ = False

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"
        SKIPPED = "skipped", "Skipped"
        XFAILED = "xfailed", "Expected failure"
        XPASSED = "xpassed", "Unexpected pass"

        @classmethod
        def bad(cls) -> tuple[str, ...]:
            """Outcomes that make a run completed_with_warnings."""
            return (cls.FAILED, cls.ERROR)

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="results")
    node_id = models.CharField(max_length=1000, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, db_index=True)
    duration = models.FloatField(default=0.0, help_text="Seconds.")
    message = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    # Passed and failed on the same commit (this run or an earlier one).
    flaky = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "outcome"])]

    def __str__(self) -> str:
        return f"{self.node_id}: {self.outcome}"

    def is_bad(self) -> bool:
        return self.outcome in self.Outcome.bad()
