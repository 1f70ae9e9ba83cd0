"""A real Celery worker runs a test run (pytest from a prefork child) and stops its whole group on cancel."""
import pytest

from background_tasks.status import TaskStatus
from quality.models import TestRun
from tests.fixtures.celery_worker import wait_until

from .conftest import wait_for_end
from .helpers import FAILING, SLOW, group_members

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]
URL = "/api/v1/quality/test-runs"


def test_a_worker_runs_a_selection_to_its_results(celery_worker, staff_client):
    response = staff_client.post(URL, {"paths": [FAILING]}, format="json")

    assert response.status_code == 202, response.content
    run = wait_for_end(TestRun.objects.get(pk=response.json()["job_id"]), timeout=180)
    assert run.status == TaskStatus.COMPLETED_WITH_WARNINGS, f"{run.error_message}\n{run.output_tail}"
    assert run.totals == {"failed": 2, "error": 1, "passed": 2}
    assert run.celery_task_id and run.attempts == 1


def test_cancel_through_the_api_stops_the_group_under_a_worker(celery_worker, staff_client):
    run_id = staff_client.post(URL, {"paths": [SLOW]}, format="json").json()["job_id"]
    run = TestRun.objects.get(pk=run_id)

    def sleeping_with_its_child():
        run.refresh_from_db()
        assert not run.is_terminal(), run.error_message
        return run.process_id and run.progress_message == "4 of 5 tests" and len(group_members(run.process_id)) >= 2

    wait_until(sleeping_with_its_child, timeout=180, interval=0.2, what="the sample's sleeping test and its child")
    response = staff_client.post(f"/api/v1/admin/background-tasks/{run.pk}/cancel", format="json")

    assert response.status_code == 202
    assert wait_for_end(run, timeout=60).status == TaskStatus.CANCELLED
    wait_until(lambda: not group_members(run.process_id), timeout=15, what="no process left in the run's group")
