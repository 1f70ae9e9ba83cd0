"""The "Code quality" admin page: latest findings grouped by rule and file, the history chart, the command."""
from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from quality.models import ArchitectureScan, ArchitectureViolation

DASHBOARD = "/admin/quality/architecturescan/dashboard/"


def _finished(validator, *, errors=0, warnings=0, violations=()):
    scan = background_task_create(model=ArchitectureScan, triggered_by="cli:test", validator_type=validator, dispatch=False)
    ArchitectureScan.objects.filter(pk=scan.pk).update(
        status=TaskStatus.COMPLETED_WITH_WARNINGS if errors else TaskStatus.COMPLETED,
        errors=errors, warnings=warnings, total_violations=errors + warnings,
    )
    ArchitectureViolation.objects.bulk_create(
        ArchitectureViolation(scan=scan, rule_id=r, rule_name=f"Rule {r}", severity=s, file=f, line=n, message=f"{r} at {n}")
        for r, s, f, n in violations
    )
    return scan


@pytest.fixture
def admin_client_staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.django_db
def test_dashboard_groups_the_latest_violations_by_rule_then_file(admin_client_staff):
    _finished("architecture", errors=1, violations=[("BG-002", "error", "old.py", 1)])
    latest = _finished(
        "architecture", errors=3,
        violations=[("BG-002", "error", "a/services.py", 4), ("BG-002", "error", "a/services.py", 9), ("BG-001", "error", "b/models.py", 2)],
    )
    html = admin_client_staff.get(DASHBOARD).content.decode()

    assert "Run all scans" in html
    assert f"(scan #{latest.pk})" in html
    assert "old.py" not in html  # only the latest scan's findings
    rule = re.search(r'data-rule="BG-002".*?</details>', html, re.S).group(0)
    assert "2 in 1 file" in rule and 'data-file="a/services.py"' in rule and "4: BG-002 at 4" in rule and "9: BG-002 at 9" in rule
    assert 'data-rule="BG-001"' in html


@pytest.mark.django_db
def test_dashboard_charts_violations_per_validator_over_the_last_scans(admin_client_staff):
    for total in (5, 3, 8):
        _finished("security", warnings=total)
    _finished("performance", warnings=2)
    html = admin_client_staff.get(DASHBOARD).content.decode()

    security = re.search(r'data-chart="security".*?</figure>', html, re.S).group(0)
    assert re.findall(r'data-total="(\d+)"', security) == ["5", "3", "8"]
    performance = re.search(r'data-chart="performance".*?</figure>', html, re.S).group(0)
    assert re.findall(r'data-total="(\d+)"', performance) == ["2"]
    architecture = re.search(r'data-chart="architecture".*?</figure>', html, re.S).group(0)
    assert "No finished scan yet." in architecture
    # One scale for all charts: the largest bar (8) is the tallest.
    heights = [float(h) for h in re.findall(r'class="cq-warning"[^>]*height="([\d.]+)"', security)]
    assert heights[2] == max(heights) and heights[1] < heights[0] < heights[2]


@pytest.mark.django_db
def test_dashboard_is_for_staff_only(client, plain_user):
    client.force_login(plain_user)
    assert client.get(DASHBOARD).status_code == 302


@pytest.mark.django_db
def test_scan_changelist_links_to_the_dashboard(admin_client_staff):
    html = admin_client_staff.get("/admin/quality/architecturescan/").content.decode()
    assert f'href="{DASHBOARD}"' in html


@pytest.mark.django_db(transaction=True)
def test_admin_trigger_form_creates_a_scan_through_the_service(admin_client_staff, staff_user, fixture_tree, settings):
    settings.QUALITY_SCAN_ROOT = str(fixture_tree.root)
    response = admin_client_staff.post("/admin/quality/architecturescan/add/", {"validator_type": "performance"})
    assert response.status_code == 302
    scan = ArchitectureScan.objects.get()
    assert (scan.validator_type, scan.triggered_by, scan.status) == ("performance", f"manual:{staff_user.username}", TaskStatus.COMPLETED)


@pytest.mark.django_db(transaction=True)
def test_scan_code_command_runs_the_chosen_validators_and_reports(fixture_tree, settings, capsys):
    settings.QUALITY_SCAN_ROOT = str(fixture_tree.root)
    fixture_tree.app("jobs", {"services.py": 'def f(job):\n    job.status = "failed"\n'})

    call_command("scan_code", "--validator", "architecture", "--validator", "performance", "--wait")

    out = capsys.readouterr().out
    assert [s.validator_type for s in ArchitectureScan.objects.order_by("pk")] == ["architecture", "performance"]
    assert re.search(r"Job #\d+ \(code_quality_scan\) completed with warnings: 1 violation \(1 error,", out)
    assert ArchitectureScan.objects.filter(triggered_by__startswith="cli:").count() == 2


@pytest.mark.django_db(transaction=True)
def test_scan_code_command_fails_when_a_scan_fails(fixture_tree, settings):
    settings.QUALITY_SCAN_ROOT = str(fixture_tree.root)
    fixture_tree.app("jobs", {"services.py": "def broken(:\n"})
    with pytest.raises(CommandError, match=r"1 scan did not finish: #\d+"):
        call_command("scan_code", "--validator", "architecture", "--wait")


@pytest.mark.django_db
def test_a_scans_results_summary_lists_its_rules(admin_client_staff):
    scan = _finished("security", errors=1, warnings=2, violations=[("SEC-001", "error", "a.py", 1), ("S311", "warning", "a.py", 2), ("S311", "warning", "b.py", 3)])
    html = admin_client_staff.get(f"/admin/quality/architecturescan/{scan.pk}/summary/").content.decode()
    assert re.findall(r'data-rule="([^"]+)">[^<]*: (\d+)', html) == [("S311", "2"), ("SEC-001", "1")]
    assert "3 (1 error, 2 warnings, 0 info)" in html
