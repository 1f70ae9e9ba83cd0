"""Time the code-quality scan over this repository, and its lint part against ``ruff check`` alone.

In one run, each measurement repeated ``--runs`` times (median reported), every run cold (no
parsed file or ruff result kept from an earlier run):

- floor:  ``ruff check`` with the lint validators' rule sets, over the same tree (the very command
          line the scan runs: ``--select S,PERF``, the rules file's exclude, JSON output, no cache);
- lint:   the security and performance validators as "Run all scans" runs them (two jobs side by
          side in the in-process pool: one ruff run, each file parsed once, the project rules),
          without the Django deploy check; the target is under 1.5x the floor;
- the architecture validator alone, and the Django deploy check alone (``check --deploy`` in
          its own process), reported on their own;
- whole:  the three validators in a pool of two workers as "Run all scans" runs them; target
          under 10 s.

    python bench/code_quality_scan.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

import django  # noqa: E402
import yaml  # noqa: E402

django.setup()

from quality.scans.validators import run_validator, security  # noqa: E402
from quality.scans.validators.base import SourceTree, load_rules  # noqa: E402
from quality.scans.validators.ruff import lint_argv  # noqa: E402
from quality.scans.validators.session import forget_sessions  # noqa: E402

RULES = REPO_ROOT / ".architecture-rules"
POOL_WORKERS = 2  # BACKGROUND_TASKS_INPROCESS_WORKERS' default


def ruff_alone() -> int:
    argv = lint_argv(load_rules(RULES / security.RULES_FILE))
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.count('"code"')


def validate(name: str, rules_dir: Path) -> int:
    result = run_validator(
        validator_type=name, root=REPO_ROOT, rules_dir=rules_dir, report=lambda p, m: None,
        settings_module="wizamart.settings", timeout=300,
    )
    return len(result.findings)


def in_pool(names: tuple[str, ...], rules_dir: Path) -> int:
    """The validators as jobs of one "Run all scans" in the in-process pool."""
    with ThreadPoolExecutor(max_workers=POOL_WORKERS) as pool:
        return sum(pool.map(lambda name: validate(name, rules_dir), names))


def deploy_check() -> int:
    document = load_rules(RULES / security.RULES_FILE)
    return len(security.deploy_findings(root=REPO_ROOT, config=document["security"]["deploy_check"],
                                        settings_module="wizamart.settings", timeout=300))


def rules_without_deploy_check(folder: Path) -> Path:
    """Copy the rules files with ``check --deploy`` turned off."""
    shutil.copytree(RULES, folder, dirs_exist_ok=True)
    path = folder / security.RULES_FILE
    document = yaml.safe_load(path.read_text())
    document["security"]["deploy_check"]["enabled"] = False
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


def measure(label: str, func, runs: int) -> float:
    times, found = [], 0
    for _ in range(runs):
        forget_sessions()  # cold: nothing parsed or linted by an earlier run
        started = time.perf_counter()
        found = func()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"{label:<58} median {median:6.2f} s  (min {min(times):.2f}, max {max(times):.2f})  findings {found}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    files = len(SourceTree(REPO_ROOT, exclude=load_rules(RULES / security.RULES_FILE).get("exclude") or []).files())
    print(f"{files} Python files under {REPO_ROOT}; {runs} cold runs each; load average {os.getloadavg()[0]:.1f}")
    floor = measure("ruff check --select S,PERF (alone, same tree)", ruff_alone, runs)
    with tempfile.TemporaryDirectory() as folder:
        quiet = rules_without_deploy_check(Path(folder))
        lint = measure("lint part: security + performance (no deploy check)", lambda: in_pool(("security", "performance"), quiet), runs)
        sequential = measure("  the same, one after the other", lambda: validate("security", quiet) + validate("performance", quiet), runs)
    architecture = measure("architecture validator alone", lambda: validate("architecture", RULES), runs)
    deploy = measure("Django deploy check alone (check --deploy, own process)", deploy_check, runs)
    whole = measure("whole scan: three validators, pool of two", lambda: in_pool(("architecture", "security", "performance"), RULES), runs)
    print(f"\nlint part / ruff alone: {lint / floor:.2f}x (target < 1.5x); one after the other {sequential / floor:.2f}x")
    print(f"architecture alone {architecture:.2f} s; deploy check alone {deploy:.2f} s")
    print(f"whole scan: {whole:.2f} s (target < 10 s: {'met' if whole < 10 else 'missed'}); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
