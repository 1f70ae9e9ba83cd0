"""Time the code-quality scan over this repository, and its lint part against ``ruff check`` alone.

In one run, each measurement repeated ``--runs`` times (median reported; the warm lint pair at
least 25 times), like for like, each pair measured in alternation so both see the same load:

- cold: no cache on either side. The floor is ``ruff check --no-cache`` with the lint validators'
        rule sets over the same tree (the very command line the scan runs: ``--select S,PERF``,
        the rules file's exclude, JSON output); the lint part is the security and performance
        validators as "Run all scans" runs them (two jobs side by side in the in-process pool: one
        ruff run, each file parsed once, the project rules), without the Django deploy check, with
        the scan's cache turned off and nothing parsed kept in the process;
- warm: both with their caches filled by an earlier run over the unchanged tree: ruff with its
        cache (``--cache-dir``, the scan's own command line) against the lint part with the scan's
        cache (its per-file findings and ruff's cache), again nothing parsed kept in the process;
- the architecture validator alone, and the Django deploy check alone (``check --deploy`` in
        its own process), reported on their own;
- whole: the three validators in a pool of two workers as "Run all scans" runs them, cold and
        warm; target under 10 s.

The target for the lint part is under 1.5x its floor.

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
LINT = ("security", "performance")
ALL = ("architecture", "security", "performance")


def ruff_alone(cache_dir: Path | None) -> int:
    argv = lint_argv(load_rules(RULES / security.RULES_FILE), cache_dir)
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.count('"code"')


def validate(name: str, rules_dir: Path, cache_dir: Path | None) -> int:
    result = run_validator(
        validator_type=name, root=REPO_ROOT, rules_dir=rules_dir, report=lambda p, m: None,
        settings_module="wizamart.settings", timeout=300, cache_dir=cache_dir,
    )
    return len(result.findings)


def in_pool(names: tuple[str, ...], rules_dir: Path, cache_dir: Path | None) -> int:
    """The validators as jobs of one "Run all scans" in the in-process pool."""
    with ThreadPoolExecutor(max_workers=POOL_WORKERS) as pool:
        return sum(pool.map(lambda name: validate(name, rules_dir, cache_dir), names))


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
    """Run ``func`` once untimed (it fills the caches of a warm measurement), then ``runs`` times; return the median."""
    func()
    times, found = [], 0
    for _ in range(runs):
        forget_sessions()  # nothing parsed or linted by an earlier run stays in the process
        started = time.perf_counter()
        found = func()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"{label:<62} median {median:6.3f} s  (min {min(times):.3f}, max {max(times):.3f})  findings {found}")
    return median


def measure_pair(labels: tuple[str, str], funcs: tuple, runs: int) -> tuple[float, float]:
    """Measure two things in alternation (a, b, a, b, ...) so both see the same load; return their medians."""
    for func in funcs:
        func()  # fills the caches of a warm measurement
    times: tuple[list[float], list[float]] = ([], [])
    found = [0, 0]
    for _ in range(runs):
        for position, func in enumerate(funcs):
            forget_sessions()
            started = time.perf_counter()
            found[position] = func()
            times[position].append(time.perf_counter() - started)
    medians = []
    for label, taken, count in zip(labels, times, found, strict=True):
        medians.append(statistics.median(taken))
        print(f"{label:<62} median {medians[-1]:6.3f} s  (min {min(taken):.3f}, max {max(taken):.3f})  findings {count}")
    return medians[0], medians[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    files = len(SourceTree(REPO_ROOT, exclude=load_rules(RULES / security.RULES_FILE).get("exclude") or []).files())
    print(f"{files} Python files under {REPO_ROOT}; {runs} runs each (warm lint: more); load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        quiet = rules_without_deploy_check(Path(folder) / "rules")
        ruff_cache, scan_cache = Path(folder) / "ruff-alone", Path(folder) / "scan"
        print("cold: no cache on either side (the two measured in alternation)")
        floor, lint = measure_pair(
            ("  ruff check --no-cache --select S,PERF (alone, same tree)", "  lint part: security + performance, scan cache off"),
            (lambda: ruff_alone(None), lambda: in_pool(LINT, quiet, None)),
            runs,
        )
        print("warm: both caches filled by an earlier run, the tree unchanged (in alternation)")
        # A warm run takes tens of milliseconds: more runs keep the medians steady on a busy machine.
        warm_floor, warm_lint = measure_pair(
            ("  ruff check with its cache (alone, same tree)", "  lint part: security + performance, scan cache on"),
            (lambda: ruff_alone(ruff_cache), lambda: in_pool(LINT, quiet, scan_cache)),
            max(runs * 5, 25),
        )
        print("the rest")
        architecture = measure("  architecture validator alone", lambda: validate("architecture", RULES, None), runs)
        deploy = measure("  Django deploy check alone (check --deploy, own process)", deploy_check, runs)
        whole = measure("  whole scan, cold: three validators, pool of two", lambda: in_pool(ALL, RULES, None), runs)
        warm_whole = measure("  whole scan, warm (scan cache on)", lambda: in_pool(ALL, RULES, scan_cache), runs)
    print(f"\ncold: lint part / ruff --no-cache: {lint / floor:.2f}x (target < 1.5x: {verdict(lint / floor < 1.5)})")
    print(f"warm: lint part / ruff with cache: {warm_lint / warm_floor:.2f}x (target < 1.5x: {verdict(warm_lint / warm_floor < 1.5)})")
    print(f"architecture alone {architecture:.2f} s; deploy check alone {deploy:.2f} s")
    print(f"whole scan: cold {whole:.2f} s, warm {warm_whole:.2f} s (target < 10 s: {verdict(max(whole, warm_whole) < 10)}); "
          f"load average {os.getloadavg()[0]:.1f}")


def verdict(met: bool) -> str:
    return "met" if met else "missed"


if __name__ == "__main__":
    main()
