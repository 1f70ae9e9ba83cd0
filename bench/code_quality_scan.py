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
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

import django  # noqa: E402

django.setup()

from quality.scans.validators import architecture, run_validator, security  # noqa: E402
from quality.scans.validators.base import as_list, load_rules  # noqa: E402
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


def validators(*, deploy: bool) -> int:
    found = 0
    for validator in ("architecture", "security", "performance"):
        if validator == "security" and not deploy:
            found += len(_security_without_deploy())
            continue
        result = run_validator(
            validator_type=validator, root=REPO_ROOT, rules_dir=RULES, report=lambda p, m: None,
            settings_module="wizamart.settings", timeout=300,
        )
        found += len(result.findings)
    return found


def _security_without_deploy():
    from quality.scans.validators.base import SourceTree
    from quality.scans.validators.ruff import ruff_findings, run_ruff

    document = load_rules(RULES / security.RULES_FILE)
    section = document["security"]
    tree = SourceTree(REPO_ROOT, exclude=as_list(document.get("exclude")))
    tree.parse_all()
    findings = list(security.project_findings(tree, section["rules"]))
    ruff = section["ruff"]
    config = {**ruff, "exclude": [*as_list(document.get("exclude")), *as_list(ruff.get("exclude"))]}
    diagnostics = run_ruff(root=REPO_ROOT, config=config, timeout=300)
    return findings + ruff_findings(root=REPO_ROOT, diagnostics=diagnostics, severities={}, rule_name="")


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
    files = len(architecture.SourceTree(REPO_ROOT, exclude=["**/migrations/**"]).files())
    print(f"{files} Python files under {REPO_ROOT}; {runs} runs each")
    floor, _ = measure("ruff check --select S,PERF (alone)", ruff_alone, runs)
    lint, _ = measure("validators, without check --deploy", lambda: validators(deploy=False), runs)
    whole, _ = measure("validators, whole scan (with check --deploy)", lambda: validators(deploy=True), runs)
    print(f"ratio without check --deploy: {lint / floor:.2f}x ruff alone")
    print(f"ratio whole scan:             {whole / floor:.2f}x ruff alone  (target < 10 s: {'yes' if whole < 10 else 'no'})")


if __name__ == "__main__":
    main()
