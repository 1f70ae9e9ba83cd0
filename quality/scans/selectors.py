"""Read side of the scans: active scans, a scan's violations, the latest results and the history."""
from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from .models import ArchitectureScan, ValidatorType

HISTORY_SIZE = 10


def scan_active_list() -> QuerySet[ArchitectureScan]:
    """Return the scans not finished yet (pending or running), oldest first."""
    return ArchitectureScan.objects.active().order_by("created_at", "id")


def scan_violation_list(*, scan: ArchitectureScan, rule_id: str = "", severity: str = "", file: str = "") -> QuerySet:
    violations = scan.violations.all()
    if rule_id:
        violations = violations.filter(rule_id=rule_id)
    if severity:
        violations = violations.filter(severity=severity)
    if file:
        violations = violations.filter(file=file)
    return violations.order_by("file", "line", "id")


def scan_latest_finished() -> dict[str, ArchitectureScan]:
    """Return the newest finished scan of each validator that has one."""
    latest = {}
    for validator in ValidatorType.values:
        scan = ArchitectureScan.objects.terminal().filter(validator_type=validator).order_by("-created_at", "-id").first()
        if scan is not None:
            latest[validator] = scan
    return latest


def scan_violations_grouped(*, scan: ArchitectureScan) -> list[dict]:
    """Group a scan's violations by rule, then by file: [{rule_id, severity, count, files: [{file, count, lines}]}]."""
    rules: dict[str, dict] = {}
    for violation in scan.violations.order_by("rule_id", "file", "line").only("rule_id", "rule_name", "severity", "file", "line", "message"):
        rule = rules.setdefault(
            violation.rule_id,
            {"rule_id": violation.rule_id, "rule_name": violation.rule_name, "severity": violation.severity, "count": 0, "files": defaultdict(list)},
        )
        rule["count"] += 1
        rule["files"][violation.file].append(violation)
    grouped = []
    for rule in rules.values():
        rule["files"] = [{"file": name, "count": len(items), "violations": items} for name, items in rule["files"].items()]
        grouped.append(rule)
    return sorted(grouped, key=lambda r: (["error", "warning", "info"].index(r["severity"]), -r["count"], r["rule_id"]))


def scan_history(*, size: int = HISTORY_SIZE) -> dict[str, list[ArchitectureScan]]:
    """Return the last finished scans of each validator, oldest first (for the chart)."""
    history = {}
    for validator in ValidatorType.values:
        scans = list(ArchitectureScan.objects.succeeded().filter(validator_type=validator).order_by("-created_at", "-id")[:size])
        history[validator] = scans[::-1]
    return history
