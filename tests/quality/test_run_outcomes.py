"""A run's outcome and results: passing, failing (as plain pytest reports it), collection errors."""
import pytest

from background_tasks.models import AdminNotification
from background_tasks.status import TaskStatus
from quality.models import TestResult, TestRun
from quality.test_runs import services

from .helpers import BROKEN, DATABASE, FAILING, PASSING, plain_pytest, short_summary, summary_counts

pytestmark = pytest.mark.django_db(transaction=True)


def run_selection(**selection) -> TestRun:
    trigger = services.test_run_create(triggered_by="cli:tester", **selection)
    assert trigger.created
    return TestRun.objects.get(pk=trigger.run.pk)


def test_a_passing_run_completes_with_its_results():
    run = run_selection(paths=[PASSING])

    assert run.status == TaskStatus.COMPLETED, run.error_message
    assert run.progress_message == "5 tests: 3 passed, 1 skipped, 1 xfailed"
    assert run.progress_percent == 100
    assert run.exit_code == 0
    assert run.totals == {"passed": 3, "skipped": 1, "xfailed": 1}
    assert run.tests_collected == run.tests_done == 5
    outcomes = dict(run.results.values_list("node_id", "outcome"))
    assert outcomes == {
        f"{PASSING}/test_passing.py::test_adds": "passed",
        f"{PASSING}/test_passing.py::test_words_are_lowercase[alpha]": "passed",
        f"{PASSING}/test_passing.py::test_words_are_lowercase[beta]": "passed",
        f"{PASSING}/test_passing.py::test_skipped": "skipped",
        f"{PASSING}/test_passing.py::test_expected_failure": "xfailed",
    }
    assert run.command[1:5] == ["-m", "pytest", "-p", "quality.test_runs.plugin"]
    assert run.command[-2:] == ["--", PASSING]
    assert len(run.git_commit.split("+")[0]) == 40
    assert not AdminNotification.objects.filter(job_id=run.pk).exists()


def test_a_failing_run_reports_what_plain_pytest_reports():
    plain = plain_pytest(FAILING)
    run = run_selection(paths=[FAILING])

    assert run.status == TaskStatus.COMPLETED_WITH_WARNINGS, run.error_message
    expected = summary_counts(plain.stdout)
    assert expected == {"failed": 2, "passed": 2, "error": 1}
    assert run.totals == expected
    assert run.progress_message == "3 of 5 tests failed"
    results = {r.node_id: r for r in run.results.all()}
    summary = short_summary(plain.stdout)
    assert set(summary) == {node for node, r in results.items() if r.is_bad()}
    for node, (word, message) in summary.items():
        assert results[node].outcome == {"FAILED": "failed", "ERROR": "error"}[word]
        # The short summary shows the first line of the message the JUnit report holds in full.
        assert results[node].message.splitlines()[0] == message
    assert "ValueError: the price must not be negative" in results[f"{FAILING}/test_failing.py::test_raises"].traceback
    note = AdminNotification.objects.get(job_id=run.pk)
    assert "3 of 5 tests failed" in note.message
    assert f"{FAILING}/test_failing.py::test_raises" in note.message


def test_the_details_list_failures_first_and_the_slowest():
    run = run_selection(paths=[FAILING, PASSING])

    details = run.get_details()
    assert [f["outcome"] for f in details["failures"]] == ["failed", "failed", "error"]
    assert details["failures"][0]["node_id"] == f"{FAILING}/test_failing.py::test_assertion_fails"
    assert len(details["slowest"]) == 10
    durations = [s["duration"] for s in details["slowest"]]
    assert durations == sorted(durations, reverse=True)
    assert details["totals"] == {"passed": 5, "failed": 2, "error": 1, "skipped": 1, "xfailed": 1}
    assert details["command"] == run.command
    assert details["selection"]["paths"] == [FAILING, PASSING]


def test_a_collection_error_fails_the_run_with_the_reason():
    run = run_selection(paths=[BROKEN])

    assert run.status == TaskStatus.FAILED
    assert run.error_message.startswith(f"Collection error in {BROKEN}/test_broken.py")
    assert "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'" in run.error_message
    assert run.results.filter(outcome=TestResult.Outcome.ERROR).count() == 1


def test_a_selection_that_matches_nothing_fails_the_run():
    run = run_selection(paths=[PASSING], keyword="no_test_has_this_name")

    assert run.status == TaskStatus.FAILED
    assert run.error_message == "No tests matched the selection."


def test_keyword_markers_and_maxfail_reach_pytest_as_single_arguments():
    run = run_selection(paths=[FAILING], keyword="not passes and not setup", maxfail=1)

    assert run.command[-4:] == ["-k=not passes and not setup", "--maxfail=1", "--", FAILING]
    assert run.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert run.totals == {"failed": 1}
    assert run.progress_message == "1 of 1 tests failed (stopped after 1)"


def test_a_database_test_runs_on_a_test_database_of_its_own():
    run = run_selection(paths=[DATABASE])

    assert run.status == TaskStatus.COMPLETED, f"{run.error_message}\n{run.output_tail}"
    assert run.totals == {"passed": 1}


def test_an_expression_pytest_cannot_parse_fails_the_run_with_its_message():
    run = run_selection(paths=[PASSING], keyword="not (adds")

    assert run.status == TaskStatus.FAILED
    assert run.error_message.startswith("pytest refused the selection: ERROR: Wrong expression passed to '-k': not (adds")
