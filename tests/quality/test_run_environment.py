"""pytest gets a minimal environment: the allowlist and the run's own variables, never the web process's secrets."""
import pytest

from background_tasks.status import TaskStatus
from quality.models import TestRun
from quality.test_runs import services

from .helpers import SAMPLE

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_web_process_environment_does_not_reach_the_tests(monkeypatch, settings):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("FLOWER_PASSWORD", "do-not-leak")
    monkeypatch.setenv("SECRET_KEY", "the-web-process-secret-key-" + "x" * 40)
    monkeypatch.setenv("LANG", "C.UTF-8")

    run = TestRun.objects.get(
        pk=services.test_run_create(triggered_by="cli:tester", paths=[f"{SAMPLE}/environment"]).run.pk
    )

    assert run.status == TaskStatus.COMPLETED, "\n".join(f"{r.node_id}: {r.message}" for r in run.results.all())
    assert run.totals == {"passed": 2}


def test_a_variable_added_to_the_allowlist_does_reach_the_tests(monkeypatch, settings):
    monkeypatch.setenv("FLOWER_PASSWORD", "now-allowed")
    settings.QUALITY_TEST_RUN_ENV_ALLOWLIST = ("PATH", "FLOWER_PASSWORD")

    run = TestRun.objects.get(
        pk=services.test_run_create(triggered_by="cli:tester", paths=[f"{SAMPLE}/environment"]).run.pk
    )

    assert run.status == TaskStatus.COMPLETED_WITH_WARNINGS
    failed = run.results.get(outcome="failed")
    assert failed.node_id.endswith("::test_only_allowlisted_variables_reach_the_tests")
    assert "FLOWER_PASSWORD" in failed.message
