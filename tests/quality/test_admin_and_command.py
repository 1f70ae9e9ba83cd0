"""The admin task page (trigger form, results page) and the run_tests_job command start the same runs."""
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from quality.models import TestRun
from quality.test_runs import services

from .helpers import FAILING, PASSING

ADD_URL = "/admin/quality/testrun/add/"


@pytest.mark.django_db(transaction=True)
def test_the_admin_form_starts_a_run(admin_client):
    response = admin_client.post(ADD_URL, {"paths_text": f"{PASSING}\n\n", "keyword": "adds", "markers": "", "maxfail": ""})

    run = TestRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/quality/testrun/#job-{run.pk}")
    assert run.triggered_by == "manual:admin"
    assert (run.paths, run.keyword) == ([PASSING], "adds")
    assert run.status == TaskStatus.COMPLETED, run.error_message
    assert run.totals == {"passed": 1}


@pytest.mark.django_db
def test_the_admin_form_refuses_a_hostile_selection(admin_client):
    response = admin_client.post(ADD_URL, {"paths_text": "tests/../manage.py", "keyword": "a; ls", "markers": "", "maxfail": ""})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "paths_text" in form.errors and "keyword" in form.errors
    assert not TestRun.objects.exists()


@pytest.mark.django_db
def test_the_admin_form_hands_back_the_run_under_way(admin_client):
    active = background_task_create(model=TestRun, triggered_by="cli:someone", dispatch=False)

    response = admin_client.post(ADD_URL, {"paths_text": "", "keyword": "", "markers": "", "maxfail": ""}, follow=True)

    assert response.redirect_chain[-1][0] == f"/admin/quality/testrun/{active.pk}/change/"
    assert "is already under way" in response.content.decode()
    assert TestRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_results_page_lists_failures_first_and_filters_by_outcome(admin_client):
    run = services.test_run_create(triggered_by="cli:tester", paths=[FAILING]).run

    page = admin_client.get(f"/admin/quality/testrun/{run.pk}/results/").content.decode()
    outcomes = re.findall(r'<tr class="test-result" data-outcome="(\w+)"', page)
    assert outcomes == ["failed", "failed", "error", "passed", "passed"]
    assert "the price must not be negative" in page
    assert "2 failed, 1 error, 2 passed" in page

    passed = admin_client.get(f"/admin/quality/testrun/{run.pk}/results/?outcome=passed").content.decode()
    assert re.findall(r'<tr class="test-result" data-outcome="(\w+)"', passed) == ["passed", "passed"]

    change = admin_client.get(f"/admin/quality/testrun/{run.pk}/change/").content.decode()
    assert f"/admin/quality/testrun/{run.pk}/results/" in change
    summary = admin_client.get(f"/admin/quality/testrun/{run.pk}/summary/").content.decode()
    assert "2 failed, 1 error, 2 passed" in summary


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_a_selection_and_waits():
    out = StringIO()

    call_command("run_tests_job", PASSING, "-k", "words", "--wait", stdout=out)

    run = TestRun.objects.get()
    assert run.triggered_by.startswith("cli:")
    assert run.status == TaskStatus.COMPLETED
    assert f"Queued test run #{run.pk}" in out.getvalue()
    assert "2 tests: 2 passed" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_command_reports_failed_tests():
    out = StringIO()

    call_command("run_tests_job", FAILING, "--wait", stdout=out)

    assert TestRun.objects.get().status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert "completed with warnings: 3 of 5 tests failed" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["../manage.py"], ["--", "-p", "evil"], [PASSING, "-k", "a; ls"]])
def test_the_command_refuses_a_hostile_selection(args):
    with pytest.raises(CommandError, match="The selection is refused"):
        call_command("run_tests_job", *args, stdout=StringIO())
    assert not TestRun.objects.exists()
