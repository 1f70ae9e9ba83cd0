"""Run ruff over a tree with a fixed argv and read its JSON findings."""
from __future__ import annotations

import json
import subprocess  # noqa: S404  (a fixed argv, shell=False)
import sys
from functools import cache
from pathlib import Path

from .base import Finding, ValidatorFailed, as_list


@cache
def ruff_command() -> list[str]:
    """Return how to start ruff: its binary as the installed package knows it (no Python start-up per run)."""
    try:
        from ruff.__main__ import find_ruff_bin

        return [str(find_ruff_bin())]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-m", "ruff"]


def ruff_argv(*, select: list[str], ignore: list[str], exclude: list[str]) -> list[str]:
    """Return the ruff command line: JSON output, no cache writes, findings never change the exit code."""
    argv = [*ruff_command(), "check", "--output-format", "json", "--exit-zero", "--no-cache"]
    argv += ["--select", ",".join(select)]
    if ignore:
        argv += ["--ignore", ",".join(ignore)]
    for pattern in exclude:
        argv += ["--extend-exclude", pattern]
    return [*argv, "."]


def run_ruff(*, root: Path, config: dict, timeout: float) -> list[dict]:
    """Return ruff's diagnostics for the rules of ``config`` (select, ignore, exclude)."""
    select = as_list(config.get("select"))
    if not select:
        raise ValidatorFailed("The ruff section of the rules file selects no rules")
    argv = ruff_argv(select=select, ignore=as_list(config.get("ignore")), exclude=as_list(config.get("exclude")))
    try:
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except FileNotFoundError:
        raise ValidatorFailed("ruff could not be started (is it installed?)") from None
    except subprocess.TimeoutExpired:
        raise ValidatorFailed(f"ruff did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ValidatorFailed(f"ruff failed (exit {done.returncode}): {detail[0][:300]}")
    try:
        return json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        raise ValidatorFailed("ruff's output was not JSON") from None


def ruff_findings(*, root: Path, diagnostics: list[dict], severities: dict, rule_name: str) -> list[Finding]:
    """Turn ruff diagnostics into findings; a syntax error means the scan cannot stand."""
    errors = set(as_list(severities.get("error")))
    infos = set(as_list(severities.get("info")))
    findings = []
    for item in diagnostics:
        path = Path(item["filename"]).resolve()
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        line = int((item.get("location") or {}).get("row") or 0)
        code = item.get("code")
        if not code or code == "invalid-syntax":
            raise ValidatorFailed(f"Could not parse {rel}, line {line}: {item.get('message', 'syntax error')}")
        severity = "error" if code in errors else "info" if code in infos else "warning"
        findings.append(
            Finding(rule_id=code, severity=severity, file=rel, line=line, message=item.get("message", ""), rule_name=rule_name)
        )
    return findings
