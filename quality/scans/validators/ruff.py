"""Run ruff over a tree with a fixed argv and read its JSON findings."""
from __future__ import annotations

import json
import os
import subprocess  # noqa: S404  (a fixed argv, shell=False)
import sys
from functools import cache
from pathlib import Path

from .base import Finding, ValidatorFailed, as_list, path_matches


@cache
def ruff_command() -> list[str]:
    """Return how to start ruff: its binary as the installed package knows it (no Python start-up per run)."""
    try:
        from ruff.__main__ import find_ruff_bin

        return [str(find_ruff_bin())]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-m", "ruff"]


def ruff_argv(*, select: list[str], ignore: list[str], exclude: list[str], cache_dir: Path | None = None) -> list[str]:
    """Return the ruff command line: JSON output, findings never change the exit code.

    With ``cache_dir`` ruff keeps its cache in ``cache_dir/ruff`` (never in the scanned tree, which
    may be read-only), else it runs without one.
    """
    argv = [*ruff_command(), "check", "--output-format", "json", "--exit-zero"]
    argv += ["--cache-dir", str(Path(cache_dir) / "ruff")] if cache_dir is not None else ["--no-cache"]
    argv += ["--select", ",".join(select)]
    if ignore:
        argv += ["--ignore", ",".join(ignore)]
    for pattern in exclude:
        argv += ["--extend-exclude", pattern]
    return [*argv, "."]


LINT_SECTIONS = ("security", "performance")


def lint_argv(document: dict, cache_dir: Path | None = None) -> list[str]:
    """The one ruff run of the lint validators: every section's rule sets over the rules file's tree.

    Each validator then keeps its own part (``ruff_findings``): its codes less its ignores, its files
    less its excludes. ``exclude`` is the file's global exclude, which every validator shares; a code
    some section ignores and none selects (bandit's S101, pytest's assert) is ignored in the run.
    """
    sections = [(document.get(name) or {}).get("ruff") or {} for name in LINT_SECTIONS]
    select = list(dict.fromkeys(code for section in sections for code in as_list(section.get("select"))))
    if not select:
        raise ValidatorFailed("The ruff sections of the rules file select no rules")
    ignore = [code for code in dict.fromkeys(c for section in sections for c in as_list(section.get("ignore"))) if _unused(code, sections)]
    return ruff_argv(select=select, ignore=ignore, exclude=as_list(document.get("exclude")), cache_dir=cache_dir)


def _unused(ignored: str, sections: list[dict]) -> bool:
    """Whether no section selects any code under ``ignored``, so the one ruff run may ignore it for all.

    A section may select such a code through a selector at least as general as ``ignored`` (``ALL``,
    ``S``, ``S101`` for ``S101``) unless it ignores one as general as that selector; and through a
    more specific one (``S1011``), which it always does.
    """
    for section in sections:
        ignores = as_list(section.get("ignore"))
        for chosen in as_list(section.get("select")):
            if chosen != ignored and chosen.startswith(ignored) and chosen != "ALL":
                return False
            if chosen == "ALL" or ignored.startswith(chosen):
                length = 0 if chosen == "ALL" else len(chosen)
                if not any(ignored.startswith(q) and len(q) >= length for q in ignores if q != "ALL"):
                    return False
    return True


def run_ruff(*, root: Path, argv: list[str], timeout: float) -> list[dict]:
    """Return ruff's diagnostics for a command line of ``ruff_argv``."""
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


def rule_selected(code: str, select: list[str], ignore: list[str]) -> bool:
    """ruff's rule selection: the most specific matching selector wins, ``ignore`` on a tie (``ALL`` matches all)."""
    def longest(prefixes: list[str]) -> int:
        return max((0 if p == "ALL" else len(p) for p in prefixes if p == "ALL" or code.startswith(p)), default=-1)

    chosen, dropped = longest(select), longest(ignore)
    return chosen >= 0 and chosen > dropped


def ruff_findings(*, root: Path, diagnostics: list[dict], config: dict, exclude: list[str], rule_name: str) -> list[Finding]:
    """Turn a validator's part of ruff's diagnostics into findings; a syntax error in its files means the scan cannot stand."""
    select, ignore = as_list(config.get("select")), as_list(config.get("ignore"))
    if not select:
        raise ValidatorFailed("The ruff section of the rules file selects no rules")
    severities = config.get("severity") or {}
    errors = set(as_list(severities.get("error")))
    infos = set(as_list(severities.get("info")))
    findings = []
    selected: dict[str, bool] = {}
    excluded: dict[str, str | None] = {}  # ruff's file name -> its relative path, None when the validator leaves it out
    for item in diagnostics:
        code = item.get("code")
        syntax_error = not code or code == "invalid-syntax"
        if not syntax_error:
            if code not in selected:
                selected[code] = rule_selected(code, select, ignore)
            if not selected[code]:
                continue
        filename = item["filename"]
        if filename not in excluded:
            rel = _relative(root, filename)
            excluded[filename] = None if path_matches(rel, exclude) else rel
        rel = excluded[filename]
        if rel is None:
            continue
        line = int((item.get("location") or {}).get("row") or 0)
        if syntax_error:
            raise ValidatorFailed(f"Could not parse {rel}, line {line}: {item.get('message', 'syntax error')}")
        severity = "error" if code in errors else "info" if code in infos else "warning"
        findings.append(
            Finding(rule_id=code, severity=severity, file=rel, line=line, message=item.get("message", ""), rule_name=rule_name)
        )
    return findings


def _relative(root: Path, filename: str) -> str:
    """Return a ruff file name relative to the root (ruff runs in the root and names files absolutely)."""
    prefix = f"{root}{os.sep}"
    if filename.startswith(prefix):
        return filename[len(prefix):].replace(os.sep, "/")
    path = Path(filename).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def writable_folder(folder: Path | None) -> Path | None:
    """Return the folder, made if needed, or None when it cannot be written (ruff then runs without a cache)."""
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def lint_run(*, root: Path, document: dict, timeout: float, cache_dir: Path | None = None):
    """The one ruff run of the lint rules as a session's background run: its key and its function."""
    argv = lint_argv(document, writable_folder(cache_dir))
    root = Path(root).resolve()
    return ("ruff", *argv), lambda: run_ruff(root=root, argv=argv, timeout=timeout)
