"""The seed's code-quality endpoints answer exactly the seed's JSON; every scan is an ordinary job too."""
from __future__ import annotations

import pytest

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from quality.models import ArchitectureScan, ArchitectureViolation

pytestmark = pytest.mark.django_db

STATUS_KEYS = {
    "id", "validator_type", "status", "progress_percent", "progress_message", "total_violations", "errors", "warnings",
    "infos", "total_files", "duration_seconds", "created_at", "started_at", "completed_at", "triggered_by", "error_message",
}


def _pending_scan(validator_type="architecture") -> ArchitectureScan:
    # Not dispatched: the test transaction never commits, so the scan stays pending.
    return background_task_create(model=ArchitectureScan, triggered_by="api:staff", validator_type=validator_type)


def _finished_scan() -> ArchitectureScan:
    scan = background_task_create(model=ArchitectureScan, triggered_by="api:staff", validator_type="security", dispatch=False)
    ArchitectureScan.objects.filter(pk=scan.pk).update(status=TaskStatus.COMPLETED_WITH_WARNINGS, total_violations=3, errors=1, warnings=2)
    rows = [
        ("SEC-001", "error", "jobs/run.py", 12, "subprocess.run(shell=True)"),
        ("SEC-005", "warning", "api/hooks.py", 4, "csrf_exempt"),
        ("S311", "warning", "api/hooks.py", 9, "random"),
    ]
    ArchitectureViolation.objects.bulk_create(
        ArchitectureViolation(scan=scan, rule_id=r, severity=s, file=f, line=n, message=m, snippet="x = 1") for r, s, f, n, m in rows
    )
    return ArchitectureScan.objects.get(pk=scan.pk)


def test_scan_trigger_answers_202_with_one_scan_per_validator(staff_client):
    response = staff_client.post("/api/v1/admin/code-quality/scan", {}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"scans", "status_url"}
    assert body["status_url"] == "/api/v1/admin/code-quality/scans/running"
    assert [set(s) for s in body["scans"]] == [{"id", "validator_type", "status", "message"}] * 3
    assert [(s["validator_type"], s["status"], s["message"]) for s in body["scans"]] == [
        ("architecture", "pending", "Scan queued"),
        ("security", "pending", "Scan queued"),
        ("performance", "pending", "Scan queued"),
    ]
    assert sorted(ArchitectureScan.objects.values_list("pk", flat=True)) == sorted(s["id"] for s in body["scans"])


def test_scan_trigger_takes_validator_types(staff_client):
    response = staff_client.post("/api/v1/admin/code-quality/scan/", {"validator_types": ["security"]}, format="json")
    assert response.status_code == 202
    assert [s["validator_type"] for s in response.json()["scans"]] == ["security"]


@pytest.mark.parametrize("body", [{"validator_types": ["style"]}, {"validator_types": []}, {"validator_types": "security"}])
def test_scan_trigger_refuses_bad_validator_types_with_field_errors(staff_client, body):
    response = staff_client.post("/api/v1/admin/code-quality/scan", body, format="json")
    assert response.status_code == 400
    assert "validator_types" in response.json()
    assert ArchitectureScan.objects.count() == 0


def test_status_answers_the_seed_fields(staff_client):
    scan = _finished_scan()
    response = staff_client.get(f"/api/v1/admin/code-quality/scans/{scan.pk}/status")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == STATUS_KEYS
    assert (body["id"], body["status"], body["total_violations"], body["errors"], body["warnings"]) == (
        scan.pk, "completed_with_warnings", 3, 1, 2,
    )
    assert body["validator_type"] == "security"


def test_status_of_an_unknown_scan_is_404(staff_client):
    response = staff_client.get("/api/v1/admin/code-quality/scans/999999/status")
    assert response.status_code == 404
    assert response.json() == {"detail": "No code quality scan with id 999999."}


def test_running_lists_pending_and_running_scans_only(staff_client):
    pending = _pending_scan()
    _finished_scan()
    response = staff_client.get("/api/v1/admin/code-quality/scans/running")

    assert response.status_code == 200
    body = response.json()
    assert [(s["id"], s["status"]) for s in body] == [(pending.pk, "pending")]
    assert set(body[0]) == STATUS_KEYS


def test_violations_are_paginated_and_filtered_by_rule_and_severity(staff_client):
    scan = _finished_scan()
    url = f"/api/v1/admin/code-quality/scans/{scan.pk}/violations"

    body = staff_client.get(url).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert body["results"][0] == {
        "rule_id": "SEC-005", "severity": "warning", "file": "api/hooks.py", "line": 4, "message": "csrf_exempt", "snippet": "x = 1",
    }
    assert [r["rule_id"] for r in staff_client.get(url, {"severity": "error"}).json()["results"]] == ["SEC-001"]
    assert [r["line"] for r in staff_client.get(url, {"rule_id": "S311"}).json()["results"]] == [9]
    paged = staff_client.get(url, {"page_size": 2}).json()
    assert len(paged["results"]) == 2 and paged["next"].endswith("page=2&page_size=2")


def test_violations_refuse_an_unknown_severity(staff_client):
    scan = _finished_scan()
    response = staff_client.get(f"/api/v1/admin/code-quality/scans/{scan.pk}/violations", {"severity": "fatal"})
    assert response.status_code == 400
    assert "severity" in response.json()


def test_standard_trigger_answers_the_design_202_body(staff_client):
    response = staff_client.post("/api/v1/quality/scans", {"validator_type": "performance"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "task_type", "status", "message", "status_url"}
    assert (body["task_type"], body["status"]) == ("code_quality_scan", "pending")
    assert body["status_url"] == f"/api/v1/admin/background-tasks/{body['job_id']}"
    assert ArchitectureScan.objects.get(pk=body["job_id"]).validator_type == "performance"


def test_a_scan_is_an_ordinary_job_in_the_unified_list_and_status(staff_client):
    scan = _finished_scan()
    listed = staff_client.get("/api/v1/admin/background-tasks", {"task_type": "code_quality_scan"}).json()
    assert [job["id"] for job in listed] == [scan.pk]
    detail = staff_client.get(f"/api/v1/admin/background-tasks/{scan.pk}").json()
    assert detail["details"]["validator_type"] == "security"
    assert detail["details"]["total_violations"] == 3
    assert detail["details"]["violations_url"] == f"/api/v1/admin/code-quality/scans/{scan.pk}/violations"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/admin/code-quality/scan"),
        ("get", "/api/v1/admin/code-quality/scans/running"),
        ("get", "/api/v1/admin/code-quality/scans/1/status"),
        ("get", "/api/v1/admin/code-quality/scans/1/violations"),
        ("post", "/api/v1/quality/scans"),
    ],
)
def test_scan_endpoints_are_staff_only(anon_client, user_client, method, url):
    assert getattr(anon_client, method)(url).status_code == 401
    assert getattr(user_client, method)(url).status_code == 403


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["style"], '"style" is not a validator; choose from architecture, security, performance.'),
        ([{}], "{} is not a validator; choose from architecture, security, performance."),
        ([], "Name at least one validator, or leave validator_types out to run all three."),
        ("security", 'Send a list of validators, e.g. ["architecture", "security"].'),
    ],
)
def test_scan_trigger_field_errors_are_flat_messages(staff_client, value, message):
    response = staff_client.post("/api/v1/admin/code-quality/scan", {"validator_types": value}, format="json")
    assert response.status_code == 400
    assert response.json() == {"validator_types": [message]}


def test_violations_refuse_a_blank_filter(staff_client):
    scan = _finished_scan()
    response = staff_client.get(f"/api/v1/admin/code-quality/scans/{scan.pk}/violations", {"severity": "", "rule_id": ""})
    assert response.status_code == 400
    assert response.json() == {"severity": ["This filter may not be blank."], "rule_id": ["This filter may not be blank."]}


def test_a_validator_named_twice_runs_once(staff_client):
    response = staff_client.post("/api/v1/admin/code-quality/scan", {"validator_types": ["security", "security"]}, format="json")
    assert response.status_code == 202
    assert [s["validator_type"] for s in response.json()["scans"]] == ["security"]


@pytest.mark.parametrize(("params", "field"), [({"page_size": 1001}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page")])
def test_violations_refuse_a_page_out_of_range(staff_client, params, field):
    scan = _finished_scan()
    response = staff_client.get(f"/api/v1/admin/code-quality/scans/{scan.pk}/violations", params)
    assert response.status_code == 400
    assert set(response.json()) == {field}
