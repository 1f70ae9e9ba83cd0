"""Measure the per-job overhead of the background-task machinery against bare Celery tasks.

Both run one small UPDATE on the same real worker (prefork, 2 processes, Redis broker,
PostgreSQL, django-db results), in one run:

- bare:  ``bare_update.delay(counter_id)``
- ours:  ``background_task_create(TinyJob)``: job row, dispatch after commit, claim, progress,
         the UPDATE, finish, django-db result.

Prints throughput (jobs/s, enqueue of N included, consumed while enqueuing) and the
enqueue-to-running latency with no backlog (one job at a time).

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/N python bench/job_overhead.py [--jobs 5000]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["USE_CELERY"] = "true"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

from background_tasks.services import background_task_create  # noqa: E402
from background_tasks.status import TaskStatus  # noqa: E402
from tests.testapp.models import BenchCounter, TinyJob  # noqa: E402
from tests.testapp.tasks import bare_update  # noqa: E402
from wizamart.celery import app  # noqa: E402

COUNTERS = 100
BARE_TASK = bare_update.name


def start_worker(log_path: Path, concurrency: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CELERY_SKIP_CHECKS": "1"}
    argv = [
        str(Path(sys.executable).parent / "celery"), "-A", "wizamart", "worker", "-Q", TinyJob.queue,
        "-P", "prefork", "-c", str(concurrency), "-n", f"bench-{os.getpid()}@%h",
        "--loglevel", "INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]
    log = open(log_path, "wb")  # noqa: SIM115  (kept open for the worker's lifetime)
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_worker(proc)
            sys.exit(f"The worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reset() -> None:
    TinyJob.objects.all().delete()
    TaskResult.objects.filter(task_name__in=[BARE_TASK, f"wizamart.{TinyJob.task_type}"]).delete()


def bare_done() -> int:
    return TaskResult.objects.filter(task_name=BARE_TASK, status="SUCCESS").count()


def ours_done() -> int:
    return TinyJob.objects.filter(status=TaskStatus.COMPLETED).count()


def enqueue_bare(i: int) -> None:
    bare_update.delay(i % COUNTERS + 1)


def enqueue_ours(i: int) -> None:
    background_task_create(model=TinyJob, triggered_by="bench", counter_id=i % COUNTERS + 1)


def batch_seconds(n: int, enqueue, done) -> float:
    """Enqueue ``n`` jobs (the worker consumes them meanwhile); return the seconds until all are done."""
    reset()
    started = time.perf_counter()
    for i in range(n):
        enqueue(i)
    while done() < n:
        time.sleep(0.05)
    return time.perf_counter() - started


def throughputs(n: int, batches: int) -> tuple[float, float]:
    """Return (bare, ours) jobs/s over ``n`` jobs each, run in alternating batches.

    Alternating spreads any change in the machine's background load over both sides.
    """
    size = max(1, n // batches)
    bare = ours = 0.0
    for _ in range(batches):
        bare += batch_seconds(size, enqueue_bare, bare_done)
        ours += batch_seconds(size, enqueue_ours, ours_done)
    return size * batches / bare, size * batches / ours


def bare_latency(i: int) -> float:
    sent = time.time()
    task_id = bare_update.delay(i % COUNTERS + 1).id
    while not (row := TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first()):
        time.sleep(0.002)
    # The worker stores date_started when the task starts (CELERY_TASK_TRACK_STARTED).
    return row.date_started.timestamp() - sent


def ours_latency(i: int) -> float:
    sent = time.time()
    job = background_task_create(model=TinyJob, triggered_by="bench", counter_id=i % COUNTERS + 1)
    while not (row := TinyJob.objects.filter(pk=job.pk, status=TaskStatus.COMPLETED).first()):
        time.sleep(0.002)
    return row.started_at.timestamp() - sent


def latencies(n: int) -> tuple[list[float], list[float]]:
    """One job at a time (each waits for the previous to finish), bare and ours in turn.

    Return the enqueue-to-running seconds of each side.
    """
    reset()
    bare, ours = [], []
    for i in range(n):
        bare.append(bare_latency(i))
        ours.append(ours_latency(i))
    return bare, ours


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per throughput run (default 5000)")
    parser.add_argument("--batches", type=int, default=5, help="alternating batches the jobs are split into (default 5)")
    parser.add_argument("--latency-jobs", type=int, default=200, help="jobs for the latency run (default 200)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the benchmark measures the production shape.")
    call_command("migrate", verbosity=0)
    BenchCounter.objects.all().delete()
    BenchCounter.objects.bulk_create([BenchCounter(pk=i + 1) for i in range(COUNTERS)])
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(TinyJob.queue)  # leftovers of an interrupted run; no other queue

    print(f"broker {settings.CELERY_BROKER_URL.rsplit('@', 1)[-1]}, database {connection.settings_dict['NAME']}, "
          f"worker prefork -c {args.concurrency}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        worker = start_worker(Path(tmp) / "worker.log", args.concurrency)
        try:
            throughputs(200, 1)  # warm-up: imports, connections, caches
            bare_rate, ours_rate = throughputs(args.jobs, args.batches)
            bare_lat, ours_lat = latencies(args.latency_jobs)
        finally:
            stop_worker(worker)
            reset()

    print(f"\nthroughput, {args.jobs} jobs each in {args.batches} alternating batches (enqueue included, consumed while enqueuing)")
    print(f"  bare Celery task        {bare_rate:8.1f} jobs/s")
    print(f"  background task         {ours_rate:8.1f} jobs/s")
    print(f"  ratio                   {ours_rate / bare_rate:8.2f}x   (target >= 0.70x)")
    print(f"\nenqueue-to-running latency, {args.latency_jobs} jobs one at a time (no backlog)")
    print(f"  bare Celery task        p50 {pct(bare_lat, 0.5):6.1f} ms   p99 {pct(bare_lat, 0.99):6.1f} ms")
    print(f"  background task         p50 {pct(ours_lat, 0.5):6.1f} ms   p99 {pct(ours_lat, 0.99):6.1f} ms")
    print(f"  p50 ratio               {statistics.median(ours_lat) / statistics.median(bare_lat):8.2f}x   (target <= 2x)")


if __name__ == "__main__":
    main()
