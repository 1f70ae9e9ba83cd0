"""The three validators of a code-quality scan, by validator type."""
from __future__ import annotations

from pathlib import Path

from . import architecture, performance, security
from .base import Finding, Report, ValidatorFailed, ValidatorResult

__all__ = ["Finding", "ValidatorFailed", "ValidatorResult", "run_validator"]


def run_validator(
    *,
    validator_type: str,
    root: Path,
    rules_dir: Path,
    report: Report,
    settings_module: str,
    timeout: float,
    cache_dir: Path | None = None,
) -> ValidatorResult:
    """Run one validator over the tree at ``root``; raise ValidatorFailed when it cannot run.

    With ``cache_dir`` the lint validators keep their per-file findings and ruff's cache there.
    """
    if validator_type == "architecture":
        return architecture.validate(root=root, rules_path=rules_dir / architecture.RULES_FILE, report=report)
    if validator_type == "security":
        return security.validate(
            root=root, rules_path=rules_dir / security.RULES_FILE, report=report, settings_module=settings_module, timeout=timeout,
            cache_dir=cache_dir,
        )
    if validator_type == "performance":
        return performance.validate(
            root=root, rules_path=rules_dir / performance.RULES_FILE, report=report, timeout=timeout, cache_dir=cache_dir
        )
    raise ValidatorFailed(f"Unknown validator type {validator_type!r}")
