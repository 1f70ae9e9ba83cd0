"""A scan is an ordinary job: created by its service, run to completed / completed_with_warnings / failed."""
from __future__ import annotations

import pytest

from background_tasks.models import AdminNotification
from background_tasks.status import TaskStatus
from quality.models import ArchitectureScan
from quality.scans.services import code_quality_scan_create, code_quality_scans_create

from .test_architecture_rules import GOOD_JOB

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scanned_tree(fixture_tree, settings):
    settings.QUALITY_SCAN_ROOT = str(fixture_tree.root)
    return fixture_tree


def test_a_clean_tree_completes_with_no_violation(scanned_tree):
    scanned_tree.app("jobs", {"models.py": GOOD_JOB})
    scan = code_quality_scan_create(validator_type="architecture", triggered_by="cli:test")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.COMPLETED
    assert (scan.total_violations, scan.errors, scan.total_files) == (0, 0, 7)
    assert scan.progress_percent == 100


def test_error_violations_complete_with_warnings_and_are_stored_as_rows(scanned_tree):
    scanned_tree.app("jobs", {"models.py": GOOD_JOB.replace('task_type = "good_job"', ""), "services.py": 'def f(job):\n    job.status = "failed"\n'})
    scan = code_quality_scan_create(validator_type="architecture", triggered_by="cli:test")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (scan.total_violations, scan.errors, scan.warnings, scan.infos) == (2, 2, 0, 0)
    rows = list(scan.violations.values_list("rule_id", "severity", "file", "line", "snippet"))
    assert rows == [
        ("BG-001", "error", "jobs/models.py", 6, "class GoodJob(BackgroundTask):"),
        ("BG-002", "error", "jobs/services.py", 2, 'job.status = "failed"'),
    ]
    assert scan.progress_message == "2 violations (2 errors, 0 warnings, 0 info) in 8 files"


def test_only_warnings_complete_the_scan(scanned_tree):
    scanned_tree.app("jobs", {"services.py": "from django.views.decorators.csrf import csrf_exempt\n\n\n@csrf_exempt\ndef hook(request):\n    return None\n"})
    scan = code_quality_scan_create(validator_type="security", triggered_by="cli:test")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.COMPLETED, scan.error_message
    assert list(scan.violations.values_list("rule_id", "severity", "line")) == [("SEC-005", "warning", 4)]


def test_a_broken_file_fails_the_scan_cleanly(scanned_tree):
    scanned_tree.app("jobs", {"models.py": GOOD_JOB, "services.py": "def broken(:\n    return 1\n"})
    scan = code_quality_scan_create(validator_type="architecture", triggered_by="cli:test")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.FAILED
    assert scan.error_message == "The architecture validator could not run: Could not parse jobs/services.py, line 1: invalid syntax"
    assert scan.violations.count() == 0
    assert AdminNotification.objects.filter(job_id=scan.pk, task_type="code_quality_scan").exists()


@pytest.mark.parametrize("validator", ["security", "performance"])
def test_a_broken_file_fails_the_lint_validators_too(scanned_tree, validator):
    scanned_tree.app("jobs", {"services.py": "def broken(:\n    return 1\n"})
    scan = code_quality_scan_create(validator_type=validator, triggered_by="cli:test")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.FAILED
    assert "Could not parse jobs/services.py, line 1" in scan.error_message


def test_a_retried_scan_replaces_its_violations(scanned_tree):
    from background_tasks.services import background_task_retry

    scanned_tree.app("jobs", {"services.py": "def broken(:\n    return 1\n"})
    scan = code_quality_scan_create(validator_type="architecture", triggered_by="cli:test")
    scanned_tree.write({"jobs/services.py": 'def f(job):\n    job.status = "failed"\n'})
    scan.refresh_from_db()
    assert background_task_retry(job=scan, triggered_by="cli:test")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert scan.violations.count() == scan.total_violations == 1


def test_all_three_validators_by_default_one_job_each(scanned_tree):
    scans = code_quality_scans_create(triggered_by="api:staff")
    assert [s.validator_type for s in scans] == ["architecture", "security", "performance"]
    assert {s.task_type for s in scans} == {"code_quality_scan"}
    assert ArchitectureScan.queue == "long_running"


def test_an_unknown_validator_is_refused():
    with pytest.raises(ValueError, match='"style" is not a validator'):
        code_quality_scan_create(validator_type="style", triggered_by="cli:test")
