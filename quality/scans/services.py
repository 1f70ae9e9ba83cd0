"""Code-quality scans: create one per validator, run a validator and store what it found."""
from __future__ import annotations

import time

from django.db import transaction

from background_tasks.jobs import JobFailed, JobProgress, Outcome
from background_tasks.services import background_task_create

from .conf import cache_dir, rules_dir, scan_root, scan_settings
from .models import ArchitectureScan, ArchitectureViolation, Severity, ValidatorType
from .validators import Finding, ValidatorFailed, run_validator

VIOLATION_BATCH = 1000


def code_quality_scan_create(*, validator_type: str, triggered_by: str) -> ArchitectureScan:
    """Create a pending scan of one validator; it is dispatched once the transaction commits."""
    if validator_type not in ValidatorType.values:
        raise ValueError(f'"{validator_type}" is not a validator; choose from {", ".join(ValidatorType.values)}')
    return background_task_create(model=ArchitectureScan, triggered_by=triggered_by, validator_type=validator_type)


def code_quality_scans_create(*, validator_types: list[str] | None = None, triggered_by: str) -> list[ArchitectureScan]:
    """Create one scan per validator (all three by default), in one transaction."""
    chosen = list(dict.fromkeys(validator_types or ValidatorType.values))
    with transaction.atomic():
        return [code_quality_scan_create(validator_type=v, triggered_by=triggered_by) for v in chosen]


def code_quality_scan_execute(*, scan: ArchitectureScan, progress: JobProgress) -> Outcome:
    """Run the scan's validator over the repository and store its violations and counts."""
    label = ValidatorType(scan.validator_type).label
    started = time.monotonic()
    progress(1, f"{label}: starting", force=True)
    try:
        result = run_validator(
            validator_type=scan.validator_type,
            root=scan_root(),
            rules_dir=rules_dir(scan_root()),
            report=lambda percent, message: progress(percent, f"{label}: {message}"),
            settings_module=scan_settings.DEPLOY_SETTINGS_MODULE,
            timeout=float(scan_settings.SUBPROCESS_TIMEOUT),
            cache_dir=cache_dir(),
        )
    except ValidatorFailed as exc:
        raise JobFailed(f"The {label.lower()} validator could not run: {exc}") from None
    progress(96, f"{label}: storing {len(result.findings)} violations", force=True)
    _store_findings(scan=scan, findings=result.findings, files=result.files_scanned, seconds=time.monotonic() - started)
    summary = (
        f"{_count(scan.total_violations, 'violation')} ({_count(scan.errors, 'error')}, {_count(scan.warnings, 'warning')}, "
        f"{scan.infos} info) in {_count(scan.total_files, 'file')}"
    )
    if scan.errors:
        return Outcome(warnings=[f"{_count(scan.errors, 'error-severity violation')}"], message=summary)
    return Outcome(message=summary)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _store_findings(*, scan: ArchitectureScan, findings: list[Finding], files: int, seconds: float) -> None:
    """Replace the scan's violations (a retried scan starts clean) and write its counts."""
    counts = {severity: 0 for severity in Severity.values}
    rows = []
    for finding in findings:
        counts[finding.severity] += 1
        rows.append(
            ArchitectureViolation(
                scan=scan,
                rule_id=finding.rule_id[:40],
                rule_name=finding.rule_name[:200],
                severity=finding.severity,
                file=finding.file[:500],
                line=max(0, finding.line),
                message=finding.message,
                snippet=finding.snippet[:300],
            )
        )
    with transaction.atomic():
        scan.violations.all().delete()
        ArchitectureViolation.objects.bulk_create(rows, batch_size=VIOLATION_BATCH)
        scan.total_files = files
        scan.total_violations = len(rows)
        scan.errors = counts[Severity.ERROR]
        scan.warnings = counts[Severity.WARNING]
        scan.infos = counts[Severity.INFO]
        scan.duration_seconds = round(seconds, 3)
        scan.save(update_fields=["total_files", "total_violations", "errors", "warnings", "infos", "duration_seconds"])
