"""Each test's history across runs, and tests that pass and fail on the same commit flagged flaky."""
import pytest

from background_tasks.status import TaskStatus
from quality.models import TestResult, TestRun
from quality.test_runs import selectors, services

from .helpers import SAMPLE

pytestmark = pytest.mark.django_db(transaction=True)
FLAKY = f"{SAMPLE}/flaky"
FLIPS = f"{FLAKY}/test_flaky.py::test_flips"
STEADY = f"{FLAKY}/test_flaky.py::test_steady"


def run_once() -> TestRun:
    run = TestRun.objects.get(pk=services.test_run_create(triggered_by="cli:tester", paths=[FLAKY]).run.pk)
    assert run.status in (TaskStatus.COMPLETED, TaskStatus.COMPLETED_WITH_WARNINGS), run.error_message
    return run


def test_a_test_that_flips_on_one_commit_is_flagged_flaky_and_its_history_shows_both():
    first, second = run_once(), run_once()

    assert first.git_commit == second.git_commit
    outcomes = {first.results.get(node_id=FLIPS).outcome, second.results.get(node_id=FLIPS).outcome}
    assert outcomes == {"passed", "failed"}
    assert set(TestResult.objects.filter(flaky=True).values_list("node_id", "run_id")) == {
        (FLIPS, first.pk),
        (FLIPS, second.pk),
    }
    assert second.get_details()["flaky"] == [FLIPS]

    history = selectors.test_histories(node_ids=[FLIPS, STEADY], before_run=second)
    assert [entry["run"] for entry in history[FLIPS]] == [first.pk, second.pk]
    assert [entry["outcome"] for entry in history[STEADY]] == ["passed", "passed"]
    assert {entry["outcome"] for entry in history[FLIPS]} == {"passed", "failed"}


def test_a_flip_on_another_commit_is_not_flaky():
    first = run_once()
    TestRun.objects.filter(pk=first.pk).update(git_commit="0" * 40)
    TestResult.objects.update(flaky=False)

    second = run_once()

    assert not second.results.filter(flaky=True).exists()
