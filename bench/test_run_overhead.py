"""Measure what running a selection as a test_run job adds to plain pytest, and how stale its progress gets.

In one run, alternately (plain, job, plain, job, ...), on the same selection and database server:

- plain: ``python -m pytest -p no:cacheprovider -q <selection>``
- job:   ``test_run_create(paths=<selection>)``, run in this process: preflight, pytest with the
         progress plugin and the JUnit report, progress writes, results stored.

Prints each wall time, the ratio job / plain (target: at most 1.10 on a 60-second selection) and the
largest gap between two progress writes of the job while pytest ran (target: at most 2 s).

    DATABASE_URL=postgres://... python bench/test_run_overhead.py [PATH ...] [--repeat 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["USE_CELERY"] = "false"
# The job runs in this thread, as a command's would; the sampler watches its row from another.
os.environ["BACKGROUND_TASKS_EAGER"] = "true"
# The tests' Celery workers use the same Redis under plain pytest and under the job.
os.environ.setdefault("QUALITY_TEST_RUN_REDIS_URL", os.environ.get("REDIS_URL", ""))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from quality.models import TestRun  # noqa: E402
from quality.test_runs.guard import test_database_url  # noqa: E402
from quality.test_runs.services import test_run_create  # noqa: E402

DEFAULT_SELECTION = ["tests/exports", "tests/marketplace"]


def run_plain(paths: list[str]) -> float:
    env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("BACKGROUND_TASKS_EAGER", "USE_CELERY"):
        env.pop(name, None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *paths],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
    )
    seconds = time.monotonic() - started
    print(f"  plain: {seconds:7.2f} s  ({done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.returncode})")
    return seconds


class ProgressSampler(threading.Thread):
    """Read the running job's row every 50 ms; record when its progress write time changes."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.writes: list[float] = []

    def run(self):
        last = None
        while not self.stop.is_set():
            row = TestRun.objects.running().values_list("heartbeat_at", "progress_message").first()
            if row and row != last:
                self.writes.append(time.monotonic())
                last = row
            time.sleep(0.05)
        connection.close()

    def largest_gap(self) -> float:
        gaps = [b - a for a, b in zip(self.writes, self.writes[1:], strict=False)]
        return max(gaps, default=float("nan"))


def run_job(paths: list[str]) -> tuple[float, float]:
    sampler = ProgressSampler()
    sampler.start()
    started = time.monotonic()
    run = test_run_create(triggered_by="cli:bench", paths=paths).run
    seconds = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    run.refresh_from_db()
    print(
        f"  job:   {seconds:7.2f} s  ({run.status}: {run.progress_message}; pytest itself {run.run_seconds:.2f} s; "
        f"largest progress gap {sampler.largest_gap():.2f} s over {len(sampler.writes)} writes)"
    )
    return seconds, sampler.largest_gap()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT_SELECTION)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    settings.QUALITY_TEST_RUN_REDIS_URL = os.environ["QUALITY_TEST_RUN_REDIS_URL"]
    call_command("migrate", verbosity=0)
    TestRun.objects.active().delete()
    print(f"Selection: {' '.join(args.paths)}  (database {connection.vendor}, {args.repeat} round(s))")
    plain, job, gaps = [], [], []
    for round_number in range(args.repeat):
        print(f"Round {round_number + 1}")
        plain.append(run_plain(args.paths))
        seconds, gap = run_job(args.paths)
        job.append(seconds)
        gaps.append(gap)
    ratio = statistics.median(job) / statistics.median(plain)
    print(f"Median plain {statistics.median(plain):.2f} s, job {statistics.median(job):.2f} s: ratio {ratio:.3f} (target <= 1.10)")
    print(f"Largest gap between progress writes: {max(gaps):.2f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
