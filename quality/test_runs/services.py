"""Write side of test runs: create one (one at a time), run it, store its results."""
from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction

from background_tasks.jobs import JobFailed, JobProgress, Outcome
from background_tasks.services import background_task_create, notify_admins_of_failure

from .conf import test_run_settings
from .guard import test_database_url, test_run_preflight
from .models import TestResult, TestRun
from .protocol import BAD_OUTCOMES
from .results import junit_results
from .runner import ProcessResult, Workspace, pytest_command, pytest_environment, run_pytest
from .selection import Selection, SelectionError, project_root, selection_clean

logger = logging.getLogger(__name__)

RESULT_BATCH = 500
FAILED_NAMES_IN_NOTE = 10
# pytest's exit codes (pytest.ExitCode) that mean it could not run the selection.
EXIT_INTERRUPTED, EXIT_INTERNAL_ERROR, EXIT_USAGE_ERROR, EXIT_NO_TESTS = 2, 3, 4, 5


@dataclass(frozen=True)
class TestRunTrigger:
    """What triggering answers: the run, and whether it is new or the one already under way."""

    __test__ = False

    run: TestRun
    created: bool


def test_run_create(
    *, triggered_by: str, paths=None, keyword: str = "", markers: str = "", maxfail: int | None = None
) -> TestRunTrigger:
    """Create a test run of a validated selection, or return the run that is already pending or running.

    The database refuses a second active run (a partial unique index), so two triggers at the same
    moment get one run between them. Raises SelectionError for a selection that is refused.
    """
    selection = selection_clean(paths=paths, keyword=keyword, markers=markers, maxfail=maxfail)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                run = background_task_create(
                    model=TestRun,
                    triggered_by=triggered_by,
                    paths=selection.paths,
                    keyword=selection.keyword,
                    markers=selection.markers,
                    maxfail=selection.maxfail,
                )
            return TestRunTrigger(run=run, created=True)
        except IntegrityError:
            active = TestRun.objects.active().order_by("created_at").first()
            if active is not None:
                return TestRunTrigger(run=active, created=False)
            # The active run finished between the insert and the read: try again.
    raise RuntimeError("Could not start a test run: runs keep starting and finishing; try again.")


def test_run_execute(*, job: TestRun, progress: JobProgress) -> Outcome:
    """Run the job's selection with pytest in a subprocess and store what it reported."""
    try:
        selection = selection_clean(paths=job.paths, keyword=job.keyword, markers=job.markers, maxfail=job.maxfail)
    except SelectionError as exc:
        raise JobFailed(f"The selection is refused: {exc}") from None
    database_url = test_database_url()
    test_run_preflight(database_url=database_url)
    with tempfile.TemporaryDirectory(prefix="test-run-") as folder:
        workspace = Workspace(Path(folder))
        command = pytest_command(selection, workspace=workspace)
        job.command, job.git_commit = command, git_commit()
        job.save(update_fields=["command", "git_commit"])
        progress(0, "Starting pytest…", force=True)
        reporter = _ProgressReporter(job=job, progress=progress)
        result = run_pytest(
            command,
            env=pytest_environment(workspace=workspace, database_url=database_url),
            workspace=workspace,
            on_start=lambda pid: TestRun.objects.filter(pk=job.pk).update_bookkeeping(process_id=pid),
            on_poll=reporter,
        )
        final = _read_final(workspace, reporter)
        cases = junit_results(workspace.junit)
    return _settle(job=job, selection=selection, result=result, snapshot=final, cases=cases)


class _ProgressReporter:
    """Turn the plugin's counts into the job's progress: "312 of 671 tests (2 failed)"."""

    def __init__(self, *, job: TestRun, progress: JobProgress):
        self.job = job
        self.progress = progress
        self.last: dict = {}

    def __call__(self, snapshot: dict) -> None:
        if snapshot:
            self.last = snapshot
        collected = int(self.last.get("collected") or 0)
        done = int(self.last.get("done") or 0)
        if self.last.get("phase", "collecting") == "collecting" or not collected:
            # Still a call: it checks for cancel and keeps the row alive.
            self.progress(0, "Collecting tests…")
            return
        self.progress(min(99, done * 100 // collected), progress_message(self.last))


def progress_message(snapshot: dict) -> str:
    outcomes = snapshot.get("outcomes") or {}
    failed = sum(int(outcomes.get(outcome, 0)) for outcome in BAD_OUTCOMES)
    collected = int(snapshot.get("collected") or 0)
    text = f"{snapshot.get('done', 0)} of {collected} test{'s' if collected != 1 else ''}"
    return f"{text} ({failed} failed)" if failed else text


def _read_final(workspace: Workspace, reporter: _ProgressReporter) -> dict:
    from .runner import read_progress

    return read_progress(workspace) or reporter.last


def git_commit() -> str:
    """Return the commit of the code that runs ("<sha>+dirty" with local changes), or the setting."""
    root = project_root()
    git = shutil.which("git")  # a full path: the command is not looked up again by the child
    if git is None:
        return test_run_settings.GIT_COMMIT or ""
    try:
        sha = subprocess.run(
            [git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        changes = subprocess.run(
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return test_run_settings.GIT_COMMIT or ""
    return f"{sha}+dirty" if changes else sha


# --- results --------------------------------------------------------------------------------------


def _settle(*, job: TestRun, selection: Selection, result: ProcessResult, snapshot: dict, cases) -> Outcome:
    """Store the results, then decide: completed, completed_with_warnings, or failed (JobFailed)."""
    totals = _totals(cases)
    bad = totals.get(TestResult.Outcome.FAILED, 0) + totals.get(TestResult.Outcome.ERROR, 0)
    job.exit_code = result.exit_code
    job.run_seconds = round(result.seconds, 3)
    job.output_tail = result.output_tail
    job.collection_errors = list(snapshot.get("collection_errors") or [])
    job.tests_collected = int(snapshot.get("collected") or 0)
    job.tests_done = int(snapshot.get("done") or 0)
    job.tests_failed = bad
    job.totals = totals
    job.save(
        update_fields=[
            "exit_code", "run_seconds", "output_tail", "collection_errors",
            "tests_collected", "tests_done", "tests_failed", "totals",
        ]
    )
    test_results_store(job=job, cases=cases)
    failure = _failure_reason(job=job, result=result, snapshot=snapshot)
    if failure:
        raise JobFailed(failure)
    total = sum(totals.values())
    if not bad:
        return Outcome(message=f"{total} test{'s' if total != 1 else ''}: " + totals_text(totals))
    message = f"{bad} of {total} tests failed"
    if selection.maxfail and bad >= selection.maxfail:
        message += f" (stopped after {selection.maxfail})"
    failed_ids = [case.node_id for case in cases if case.outcome in TestResult.Outcome.bad()]
    note = "\n".join(failed_ids[:FAILED_NAMES_IN_NOTE]) + ("\n…" if len(failed_ids) > FAILED_NAMES_IN_NOTE else "")
    notify_admins_of_failure(job=job, error_message=f"{message} ({selection.describe()}):\n{note}")
    return Outcome(warnings=failed_ids, message=message)


def _totals(cases) -> dict[str, int]:
    totals: dict[str, int] = {}
    for case in cases:
        totals[case.outcome] = totals.get(case.outcome, 0) + 1
    return totals


def totals_text(totals: dict[str, int]) -> str:
    """Return totals as pytest words them, in pytest's order: "3 passed, 1 skipped, 1 xfailed"."""
    order = [choice.value for choice in (TestResult.Outcome.FAILED, TestResult.Outcome.ERROR)]
    order += [v for v in TestResult.Outcome.values if v not in order]
    return ", ".join(f"{totals[name]} {name}" for name in order if totals.get(name))


def _failure_reason(*, job: TestRun, result: ProcessResult, snapshot: dict) -> str:
    """Return why pytest could not run the selection, or "" when it ran (passing or not)."""
    if snapshot.get("refused"):
        return snapshot["refused"]
    ran = f"{job.tests_done} of {job.tests_collected} tests had run"
    if result.timed_out:
        return f"Stopped by the time limit: pytest ran longer than {test_run_settings.TIMEOUT}s ({ran})."
    code = result.exit_code
    if code is not None and code < 0:
        return f"pytest was killed by {signal.Signals(-code).name} ({ran})."
    if job.collection_errors:
        first = job.collection_errors[0]
        more = len(job.collection_errors) - 1
        return (
            f"Collection error in {first['nodeid'] or 'the selection'}: {_last_line(first['message'])}"
            + (f" (and {more} more)" if more else "")
        )
    if code == EXIT_NO_TESTS:
        return "No tests matched the selection."
    if code in (EXIT_USAGE_ERROR, EXIT_INTERNAL_ERROR, EXIT_INTERRUPTED):
        kind = {EXIT_USAGE_ERROR: "refused the selection", EXIT_INTERNAL_ERROR: "crashed", EXIT_INTERRUPTED: "was interrupted"}
        return f"pytest {kind[code]}: {_error_line(result.output_tail) or f'exit code {code}'}"
    if code not in (0, 1):
        return f"pytest ended with exit code {code}: {_last_line(result.output_tail)}"
    return ""


def _error_line(text: str) -> str:
    """Return pytest's last "ERROR:" line (what it refused), else its last line."""
    errors = [line.strip() for line in (text or "").splitlines() if line.startswith("ERROR:")]
    return errors[-1][:300] if errors else _last_line(text)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip() and not set(line.strip()) <= set("=-_")]
    return lines[-1][:300] if lines else ""


def test_results_store(*, job: TestRun, cases) -> None:
    """Write the per-test rows of a run (again from scratch on a re-run) and flag flaky tests."""
    with transaction.atomic():
        TestResult.objects.filter(run=job).delete()
        TestResult.objects.bulk_create(
            (
                TestResult(
                    run=job,
                    node_id=case.node_id[:1000],
                    outcome=case.outcome,
                    duration=case.duration,
                    message=case.message,
                    traceback=case.traceback,
                )
                for case in cases
            ),
            batch_size=RESULT_BATCH,
        )
    if job.git_commit:
        test_results_flag_flaky(run=job)


def test_results_flag_flaky(*, run: TestRun) -> int:
    """Flag the tests of ``run`` that passed and failed on its commit (in any runs); return how many."""
    from .selectors import flaky_node_ids

    node_ids = flaky_node_ids(git_commit=run.git_commit, node_ids=run.results.values_list("node_id", flat=True))
    flagged = 0
    ids = list(node_ids)
    for start in range(0, len(ids), RESULT_BATCH):
        chunk = ids[start : start + RESULT_BATCH]
        flagged += TestResult.objects.filter(run__git_commit=run.git_commit, node_id__in=chunk).update(flaky=True)
    return flagged
