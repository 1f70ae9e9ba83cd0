"""A real Celery worker runs the scans of this repository from the long_running queue."""
from __future__ import annotations

import pytest

from background_tasks.status import TaskStatus
from quality.models import ArchitectureScan
from tests.fixtures.celery_worker import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def test_worker_runs_all_three_scans_of_this_repository(celery_worker, staff_client):
    response = staff_client.post("/api/v1/admin/code-quality/scan", {}, format="json")
    assert response.status_code == 202
    ids = [scan["id"] for scan in response.json()["scans"]]

    def finished():
        return ArchitectureScan.objects.filter(pk__in=ids, status__in=TaskStatus.terminal()).count() == len(ids)

    wait_until(finished, timeout=180, what="three scans")
    scans = {scan.validator_type: scan for scan in ArchitectureScan.objects.filter(pk__in=ids)}
    for scan in scans.values():
        assert scan.status in TaskStatus.succeeded(), scan.error_message
        assert scan.celery_task_id and scan.total_files > 50
        assert scan.violations.count() == scan.total_violations
    # The worker's scan is the self-scan: no architecture error in this repository.
    assert scans["architecture"].status == TaskStatus.COMPLETED
    assert scans["architecture"].errors == 0
    # check --deploy ran in the worker with production-like settings.
    assert scans["security"].violations.filter(rule_id__startswith="security.W").exists()
    running = staff_client.get("/api/v1/admin/code-quality/scans/running").json()
    assert not {scan["id"] for scan in running} & set(ids)
