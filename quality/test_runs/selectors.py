"""Read side of test runs: the details body, results failures first, each test's history, flaky tests."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Case, IntegerField, Value, When

from .models import FAILURES_SHOWN, SLOWEST_COUNT, TestResult, TestRun

HISTORY_RUNS = 20
PASS_OR_FAIL = (TestResult.Outcome.PASSED, TestResult.Outcome.FAILED, TestResult.Outcome.ERROR)


def test_results_failures_first(*, run: TestRun, outcome: str | None = None):
    """Return a run's results, failed and errored first, then in the order pytest ran them."""
    results = run.results.all()
    if outcome:
        results = results.filter(outcome=outcome)
    rank = Case(
        When(outcome__in=TestResult.Outcome.bad(), then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return results.annotate(rank=rank).order_by("rank", "id")


def test_results_slowest(*, run: TestRun, limit: int = SLOWEST_COUNT):
    return run.results.order_by("-duration", "id")[:limit]


def test_run_details(*, run: TestRun) -> dict:
    """Return the task-specific part of the status body of a run."""
    failures = test_results_failures_first(run=run).filter(outcome__in=TestResult.Outcome.bad())
    return {
        "selection": {"paths": run.paths, "keyword": run.keyword, "markers": run.markers, "maxfail": run.maxfail},
        "tests_collected": run.tests_collected,
        "tests_done": run.tests_done,
        "tests_failed": run.tests_failed,
        "totals": run.totals,
        "duration_seconds": run.run_seconds,
        "exit_code": run.exit_code,
        "git_commit": run.git_commit or None,
        "command": run.command,
        "collection_errors": run.collection_errors,
        "failures": [
            {"node_id": r.node_id, "outcome": r.outcome, "message": r.message, "flaky": r.flaky}
            for r in failures[:FAILURES_SHOWN]
        ],
        "slowest": [
            {"node_id": r.node_id, "outcome": r.outcome, "duration": r.duration}
            for r in test_results_slowest(run=run)
        ],
        "flaky": list(run.results.filter(flaky=True).values_list("node_id", flat=True)[:FAILURES_SHOWN]),
    }


def flaky_node_ids(*, git_commit: str, node_ids: Iterable[str]) -> set[str]:
    """Return the node ids among ``node_ids`` that both passed and failed on ``git_commit``."""
    wanted = list(dict.fromkeys(node_ids))
    seen: dict[str, set[bool]] = defaultdict(set)
    for start in range(0, len(wanted), 500):
        rows = TestResult.objects.filter(
            run__git_commit=git_commit, node_id__in=wanted[start : start + 500], outcome__in=PASS_OR_FAIL
        ).values_list("node_id", "outcome")
        for node_id, outcome in rows:
            seen[node_id].add(outcome == TestResult.Outcome.PASSED)
    return {node_id for node_id, kinds in seen.items() if len(kinds) == 2}


def test_histories(*, node_ids: Iterable[str], before_run: TestRun | None = None, runs: int = HISTORY_RUNS) -> dict:
    """Return {node_id: [{run, outcome, duration, commit}, ...]} over the last ``runs`` runs, oldest first."""
    wanted = list(dict.fromkeys(node_ids))
    if not wanted:
        return {}
    run_ids = TestRun.objects.succeeded()
    if before_run is not None:
        run_ids = run_ids.filter(created_at__lte=before_run.created_at)
    run_ids = list(run_ids.order_by("-created_at", "-id").values_list("pk", flat=True)[:runs])
    if before_run is not None and before_run.pk not in run_ids:
        run_ids = [before_run.pk, *run_ids[: runs - 1]]
    history: dict[str, list[dict]] = defaultdict(list)
    for start in range(0, len(wanted), 500):
        rows = (
            TestResult.objects.filter(run_id__in=run_ids, node_id__in=wanted[start : start + 500])
            .order_by("run__created_at", "run_id")
            .values_list("node_id", "run_id", "outcome", "duration", "run__git_commit")
        )
        for node_id, run_id, outcome, duration, commit in rows:
            history[node_id].append({"run": run_id, "outcome": outcome, "duration": duration, "commit": commit})
    return dict(history)
