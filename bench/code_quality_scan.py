"""Time the three code-quality validators over this repository against ``ruff check`` alone.

In one run, each repeated ``--runs`` times (median reported):

- ruff:   ``ruff check --select S,PERF`` (the same ruff rule sets and excludes the validators use),
          one process, JSON output;
- ours:   the architecture, security and performance validators as a scan runs them (parse,
          project rules, ruff per rule set, Django's ``check --deploy`` in its own process);
- ours without ``check --deploy`` (the part ruff could be compared with rule for rule).

Prints each median, the ratio to ruff and the findings counted, so a run also shows both saw the tree.

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
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

import django  # noqa: E402
import yaml  # noqa: E402

django.setup()

from quality.scans.validators import run_validator, security  # noqa: E402
from quality.scans.validators.base import SourceTree, as_list, load_rules  # noqa: E402
from quality.scans.validators.ruff import ruff_argv  # noqa: E402

RULES = REPO_ROOT / ".architecture-rules"


def ruff_alone() -> int:
    document = load_rules(RULES / security.RULES_FILE)
    sec, perf = document["security"]["ruff"], document["performance"]["ruff"]
    argv = ruff_argv(
        select=[*as_list(sec["select"]), *as_list(perf["select"])],
        ignore=as_list(sec.get("ignore")),
        exclude=[*as_list(document.get("exclude")), *as_list(sec.get("exclude"))],
    )
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.count('"code"')


def validators(*, rules_dir: Path) -> int:
    found = 0
    for validator in ("architecture", "security", "performance"):
        result = run_validator(
            validator_type=validator, root=REPO_ROOT, rules_dir=rules_dir, report=lambda p, m: None,
            settings_module="wizamart.settings", timeout=300,
        )
        found += len(result.findings)
    return found


def rules_without_deploy_check(folder: Path) -> Path:
    """Copy the rules files with ``check --deploy`` turned off."""
    shutil.copytree(RULES, folder, dirs_exist_ok=True)
    path = folder / security.RULES_FILE
    document = yaml.safe_load(path.read_text())
    document["security"]["deploy_check"]["enabled"] = False
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


def one_validator(name: str) -> int:
    result = run_validator(
        validator_type=name, root=REPO_ROOT, rules_dir=RULES, report=lambda p, m: None,
        settings_module="wizamart.settings", timeout=300,
    )
    return len(result.findings)


def measure(label: str, func, runs: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        found = func()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"{label:<44} median {median:6.2f} s  (min {min(times):.2f}, max {max(times):.2f})  findings {found}")
    return median, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    files = len(SourceTree(REPO_ROOT, exclude=["**/migrations/**"]).files())
    print(f"{files} Python files under {REPO_ROOT}; {runs} runs each")
    floor, _ = measure("ruff check --select S,PERF (alone)", ruff_alone, runs)
    with tempfile.TemporaryDirectory() as folder:
        quiet = rules_without_deploy_check(Path(folder))
        lint, _ = measure("validators, without check --deploy", lambda: validators(rules_dir=quiet), runs)
    whole, _ = measure("validators, whole scan (with check --deploy)", lambda: validators(rules_dir=RULES), runs)
    for name in ("architecture", "security", "performance"):
        measure(f"  {name} alone", lambda name=name: one_validator(name), runs)
    print(f"ratio without check --deploy: {lint / floor:.2f}x ruff alone")
    print(f"ratio whole scan:             {whole / floor:.2f}x ruff alone  (target < 10 s: {'yes' if whole < 10 else 'no'})")


if __name__ == "__main__":
    main()
