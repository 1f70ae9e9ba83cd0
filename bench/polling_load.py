"""Load the job status endpoint as open task pages do (locust, headless) while imports and exports run.

The production shape on loopback: gunicorn started with the project's gunicorn.conf.py, USE_CELERY=true,
one Celery worker per queue as docker-compose.yml runs them (default: 2 processes; long_running: 2,
prefetch 1), `renice_job_backends` beside PostgreSQL as the job-priority service, PostgreSQL and
Redis (--worker-cpu-shares: the workers in a CPU cgroup of that weight, as compose's cpu_shares).
Two product imports and three product exports are kept running for the whole measurement (a
finished one is replaced at once). Locust users behave like task pages:
each follows a running job, polls its status every 3 s with If-None-Match, as tasks.js does.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB REDIS_URL=redis://127.0.0.1:6379/N \\
        python bench/polling_load.py [--seconds 30] [--rate 200]

Prints the achieved poll rate, p50/p95/p99, how many polls were answered 304, the jobs finished
meanwhile, and the CPU share of the load tool and of gunicorn (same machine, so both count).
Target: 200 polls/s sustained with p99 under 100 ms.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
POLL_EVERY = 3.0  # seconds between two polls of one page (tasks.js pollInterval)
RAMP_SECONDS = 8.0
IMPORTS, EXPORTS = 2, 3
# As docker-compose.yml runs them: the default queue (exports) and the long_running queue (imports).
DEFAULT_CONCURRENCY = LONG_RUNNING_CONCURRENCY = 2
SECRET_KEY = "bench-polling-" + "k" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the load tool (a child process: locust patches the standard library with gevent) -------------


def locust_child(args) -> None:
    import gevent
    from locust import FastHttpUser, task
    from locust.env import Environment

    ids_file = Path(args.ids_file)
    ids_cache = {"at": 0.0, "ids": []}

    def active_ids() -> list[int]:
        # The parent rewrites the file as jobs finish and start; read it at most twice a second.
        if time.monotonic() - ids_cache["at"] > 0.5:
            ids_cache.update(at=time.monotonic(), ids=json.loads(ids_file.read_text()))
        return ids_cache["ids"]

    class TaskPage(FastHttpUser):
        # Each page polls every POLL_EVERY seconds from the moment it was opened: pages are opened at
        # their own moments, so their polls are spread over the interval. (locust's constant_pacing
        # counts from the user's start: the users of one spawn batch, 75 here, would all poll within
        # the same few milliseconds every 3 s, a burst no set of real pages makes.)
        def wait_time(self):
            self.next_poll += POLL_EVERY
            return max(0.0, self.next_poll - time.monotonic())

        def on_start(self):
            self.job_id = None
            self.etag = None
            self.next_poll = time.monotonic() + random.uniform(0, POLL_EVERY)
            gevent.sleep(self.next_poll - time.monotonic())

        @task
        def poll(self):
            ids = active_ids()
            if self.job_id not in ids:  # the job finished: the page follows another one
                self.job_id, self.etag = random.choice(ids), None
            headers = {"Cookie": args.cookie, "Accept": "application/json"}
            if self.etag and not args.no_etag:
                headers["If-None-Match"] = self.etag
            with self.client.get(
                f"/api/v1/admin/background-tasks/{self.job_id}", headers=headers, name="status poll", catch_response=True
            ) as response:
                if response.status_code in (200, 304):
                    self.etag = response.headers.get("ETag") or self.etag
                    response.success()
                else:
                    response.failure(f"HTTP {response.status_code}")

    answers = {200: 0, 304: 0}

    def count(response=None, **_kwargs):
        code = getattr(response, "status_code", None)
        if code in answers:
            answers[code] += 1

    env = Environment(user_classes=[TaskPage], host=args.host)
    env.events.request.add_listener(count)
    runner = env.create_local_runner()
    users = int(args.rate * POLL_EVERY)
    runner.start(users, spawn_rate=users / RAMP_SECONDS)
    gevent.sleep(RAMP_SECONDS + POLL_EVERY)
    env.stats.reset_all()
    answers.update({200: 0, 304: 0})
    usage, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    print("measuring", flush=True)
    gevent.sleep(args.seconds)
    entry = env.stats.get("status poll", "GET")
    elapsed = time.monotonic() - started
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    runner.quit()
    print(json.dumps({
        "users": users,
        "seconds": elapsed,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "p50": entry.get_response_time_percentile(0.50),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
        "max": entry.max_response_time,
        "answers": answers,
        "cpu_seconds": (cpu.ru_utime - usage.ru_utime) + (cpu.ru_stime - usage.ru_stime),
    }), flush=True)


# --- the production shape ----------------------------------------------------------------------------


def start_process(argv: list[str], *, log_path: Path, env: dict, ready: str | None = None) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115  (kept open for the process's lifetime)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while ready and ready not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            sys.exit(f"{argv[:4]} did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def with_persistent_connections(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "conn_max_age=60&conn_health_checks=true"


# The peer: the web process as compose ran it before (three sync workers, a new database
# connection per request) and pages that poll without If-None-Match.
PEER_GUNICORN_ARGS = ("--worker-class", "sync", "--workers", "3", "--threads", "1")


def start_shape(env: dict, web_env: dict, logs: Path, port: int, renice: bool = True) -> list[subprocess.Popen]:
    """Two Celery workers as compose runs them, the job-backend renicer beside PostgreSQL, then gunicorn."""
    celery = str(Path(sys.executable).parent / "celery")
    keeper = []
    if renice:
        keeper.append(start_process(
            [sys.executable, "manage.py", "renice_job_backends"], log_path=logs / "renice-job-backends.log", env=env,
            ready="Keeping the workers' PostgreSQL backends",
        ))
    common = ["-A", "wizamart", "worker", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
    workers = [
        start_process(
            [celery, *common, "-Q", "default", "--concurrency", str(DEFAULT_CONCURRENCY), "-n", f"bench-default-{os.getpid()}@%h"],
            log_path=logs / "worker-default.log", env=env, ready=" ready.",
        ),
        start_process(
            [celery, *common, "-Q", "long_running", "--concurrency", str(LONG_RUNNING_CONCURRENCY), "--prefetch-multiplier", "1",
             "--disable-prefetch", "-n", f"bench-long-{os.getpid()}@%h"],
            log_path=logs / "worker-long-running.log", env=env, ready=" ready.",
        ),
    ]
    return [*keeper, *workers, start_gunicorn(web_env, logs / "gunicorn.log", port)]


def into_cpu_cgroup(name: str, shares: int, pids: list[int]) -> None:
    """Move processes and their children into a cgroup v1 cpu group of weight ``shares`` (as a
    container's cpu_shares): CPU is shared between groups first, by weight."""
    group = Path("/sys/fs/cgroup/cpu") / name
    try:
        group.mkdir(exist_ok=True)
        (group / "cpu.shares").write_text(str(shares))
        for pid in pids:
            for task in [pid, *children(pid)]:
                (group / "cgroup.procs").write_text(str(task))
    except OSError as exc:
        sys.exit(f"--worker-cpu-shares needs root and the cgroup v1 cpu controller at {group.parent}: {exc}")
    print(f"Workers in cpu cgroup {group} (cpu.shares {shares})", flush=True)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *children(int(child))]
    return found


def worker_backend_niceness() -> dict[int, int]:
    """How many of the workers' PostgreSQL backends run at each niceness (they are processes of this machine)."""
    from django.db import connection

    from background_tasks.backend_priority import WORKER_APPLICATION_NAME

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
                       [WORKER_APPLICATION_NAME])
        pids = [pid for (pid,) in cursor.fetchall()]
    counts: dict[int, int] = {}
    for pid in pids:
        try:
            value = os.getpriority(os.PRIO_PROCESS, pid)
        except OSError:
            continue
        counts[value] = counts.get(value, 0) + 1
    return counts


def start_gunicorn(env: dict, log_path: Path, port: int, extra_args: tuple[str, ...] = ()) -> subprocess.Popen:
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", *extra_args]
    return start_process([*argv, "wizamart.wsgi:application"], log_path=log_path, env=env, ready="Booting worker")


class JobKeeper(threading.Thread):
    """Keeps IMPORTS imports and EXPORTS exports running; writes the active job ids for the load tool."""

    def __init__(self, *, import_vendor, export_vendor, feed: Path, ids_file: Path, imports: int = IMPORTS,
                 exports: int = EXPORTS):
        super().__init__(daemon=True)
        self.imports, self.exports = imports, exports
        self.import_vendor, self.export_vendor, self.feed, self.ids_file = import_vendor, export_vendor, feed, ids_file
        self.stop = threading.Event()
        self.started = {"imports": 0, "exports": 0}
        self.finished = {"imports": 0, "exports": 0}
        self.running_samples: list[tuple[float, int, int]] = []  # (when, imports running, exports running)

    def run(self):
        from django.db import connection

        try:
            while not self.stop.wait(0.5):
                self.top_up()
        finally:
            connection.close()

    def create_import(self):
        from django.core.files import File

        from imports.products.services import product_import_create

        with self.feed.open("rb") as content:
            return product_import_create(
                vendor=self.import_vendor, triggered_by="cli:bench", upload=File(content, name="feed.csv")
            )

    def create_export(self):
        from exports.services import product_export_create

        return product_export_create(vendor=self.export_vendor, triggered_by="cli:bench")

    def top_up(self):
        from exports.models import ProductExportJob
        from imports.models import MarketplaceImportJob

        kinds = (
            ("imports", MarketplaceImportJob, self.imports, self.create_import),
            ("exports", ProductExportJob, self.exports, self.create_export),
        )
        active_ids, running = [], []
        for kind, model, wanted, create in kinds:
            running.append(model.objects.running().filter(triggered_by="cli:bench").count())
            active = list(model.objects.active().filter(triggered_by="cli:bench").values_list("pk", flat=True))
            for _ in range(wanted - len(active)):
                active.append(create().pk)
                self.started[kind] += 1
            self.finished[kind] = self.started[kind] - len(active)
            active_ids += active
        self.running_samples.append((time.monotonic(), *running))
        if not active_ids:  # no job kept running (the control run): the pages follow finished jobs
            active_ids = list(MarketplaceImportJob.objects.order_by("-pk").values_list("pk", flat=True)[:5])
            active_ids += ProductExportJob.objects.order_by("-pk").values_list("pk", flat=True)[:5]
        tmp = self.ids_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(active_ids))
        tmp.replace(self.ids_file)

    def all_running(self) -> bool:
        """Both imports running, and as many exports as the default worker runs at once (the third queued)."""
        wanted = (self.imports, min(self.exports, DEFAULT_CONCURRENCY))
        return bool(self.running_samples) and self.running_samples[-1][1:] >= wanted

    def mean_running(self, start: float, end: float) -> tuple[float, float]:
        window = [sample for sample in self.running_samples if start <= sample[0] <= end] or [(0, 0, 0)]
        return (sum(s[1] for s in window) / len(window), sum(s[2] for s in window) / len(window))


def end_bench_jobs() -> None:
    """Cancel the bench's jobs still pending or running; called when no worker of the bench is running.

    With no worker left to notice a cancel request, the rows are ended here; a message still queued
    for one of them loses the claim in the next run and does nothing.
    """
    from django.utils import timezone

    from background_tasks.registry import task_models
    from background_tasks.status import TaskStatus

    for model in task_models().values():
        model.objects.active().filter(triggered_by="cli:bench").update(
            status=TaskStatus.CANCELLED, completed_at=timezone.now(), progress_message="Cancelled: the benchmark ended"
        )


def prepare(rows: int, feed: Path):
    """Migrate, fill the export vendor's catalogue, write the import feed, make a staff session."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from wizamart.marketplace.models import Vendor

    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: the benchmark measures the production shape.")
    call_command("migrate", verbosity=0)
    end_bench_jobs()
    sys.path.insert(0, str(BENCH))
    import export_products
    import import_products

    export_vendor = Vendor.objects.get(pk=export_products.seed(rows))
    import_vendor, _ = Vendor.objects.get_or_create(code="bench-polling-import", defaults={"name": "Polling bench"})
    import_products.generate_feed(feed, rows)
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-poller", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return import_vendor, export_vendor, f"sessionid={client.cookies['sessionid'].value}"


def process_tree_cpu(pid: int) -> float:
    import psutil

    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_load(args, *, host: str, cookie: str, ids_file: Path, server_pid: int, etag: bool = True) -> tuple[dict, float, tuple]:
    """Run the load tool; return its measurements, gunicorn's CPU seconds and the measured window."""
    argv = [sys.executable, __file__, "--locust-child", "--host", host, "--cookie", cookie, "--ids-file", str(ids_file),
            "--rate", str(args.rate), "--seconds", str(args.seconds), *([] if etag else ["--no-etag"])]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    lines = iter(child.stdout.readline, "")
    for line in lines:
        if line.strip() == "measuring":
            break
    cpu_before, start = process_tree_cpu(server_pid), time.monotonic()
    last = ""
    for line in lines:
        if line.startswith("{"):
            last = line
            break
    server_cpu, end = process_tree_cpu(server_pid) - cpu_before, time.monotonic()
    if child.wait(timeout=60) != 0 or not last:
        raise SystemExit("The load tool failed (its errors are above).")
    return json.loads(last), server_cpu, (start, end)


def report(title: str, load: dict, gunicorn_cpu: float, running: tuple[float, float]) -> float:
    """Print one run's numbers; return its achieved rate."""
    cores = os.cpu_count() or 1
    rate = load["requests"] / load["seconds"]
    locust_share = load["cpu_seconds"] / load["seconds"]
    gunicorn_share = gunicorn_cpu / load["seconds"]
    print(f"\n{title}")
    print(f"  achieved rate      {rate:8.1f} polls/s")
    print(f"  p50 / p95 / p99    {load['p50']:.0f} / {load['p95']:.0f} / {load['p99']:.0f} ms   (max {load['max']:.0f} ms)")
    print(f"  failures           {load['failures']}")
    print(f"  answers            200: {load['answers']['200']}   304: {load['answers']['304']}")
    print(f"  jobs running       {running[0]:.1f} imports, {running[1]:.1f} exports on average "
          f"(the default worker runs {DEFAULT_CONCURRENCY} exports at once; the others wait queued)")
    print(f"  load tool CPU      {locust_share:.0%} of one core ({locust_share / cores:.0%} of the machine)")
    print(f"  gunicorn CPU       {gunicorn_share:.0%} of one core ({gunicorn_share / cores:.0%} of the machine)")
    print(f"  machine load avg   {os.getloadavg()[0]:.1f} (1 min) on {cores} cores")
    return rate


def measure(args, *, title: str, host: str, cookie: str, keeper: JobKeeper, server_pid: int, etag: bool):
    load, gunicorn_cpu, window = run_load(
        args, host=host, cookie=cookie, ids_file=keeper.ids_file, server_pid=server_pid, etag=etag
    )
    return load, report(title, load, gunicorn_cpu, keeper.mean_running(*window))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="Measured time (after a short ramp).")
    parser.add_argument("--rate", type=float, default=200.0, help="Status polls per second to offer.")
    parser.add_argument("--rows", type=int, default=100_000, help="Rows of each import feed and of the export catalogue.")
    parser.add_argument("--locust-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    parser.add_argument("--no-etag", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-peer", action="store_true", help="Skip the peer run (the old web shape).")
    parser.add_argument("--imports", type=int, default=IMPORTS, help="Imports kept running (0 with --exports 0: "
                        "a control run with no job, the pages polling finished jobs).")
    parser.add_argument("--exports", type=int, default=EXPORTS, help="Exports kept running.")
    parser.add_argument("--worker-cpu-shares", type=int, metavar="N",
                        help="Run the workers in a CPU cgroup of this weight, as compose's cpu_shares does (needs root "
                        "and the cgroup v1 cpu controller); the web server and PostgreSQL keep the default, 1024.")
    parser.add_argument("--no-renice", action="store_true", help="Do not run renice_job_backends beside PostgreSQL "
                        "(the jobs' database work then competes with the polls' at the server's priority).")
    args = parser.parse_args()
    if args.locust_child:
        locust_child(args)
        return

    work = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wizamart.settings", "USE_CELERY": "true", "DEBUG": "false",
           "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1", "PRIVATE_STORAGE_ROOT": str(work / "private"),
           "PYTHONPATH": str(ROOT), "CELERY_SKIP_CHECKS": "1"}
    os.environ.update(env)
    # gunicorn as compose runs it: each thread keeps its database connection.
    web_env = {**env, "DATABASE_URL": with_persistent_connections(env["DATABASE_URL"])}
    sys.path.insert(0, str(ROOT))
    feed = work / "feed.csv"
    import_vendor, export_vendor, cookie = prepare(args.rows, feed)
    port = free_port()
    ids_file = work / "active-ids.json"
    processes = start_shape(env, web_env, work, port, renice=not args.no_renice)
    if args.worker_cpu_shares:
        workers = [proc for proc in processes if "worker" in proc.args]
        into_cpu_cgroup(f"bench-polling-workers-{os.getpid()}", args.worker_cpu_shares, [proc.pid for proc in workers])
    keeper = JobKeeper(import_vendor=import_vendor, export_vendor=export_vendor, feed=feed, ids_file=ids_file,
                       imports=args.imports, exports=args.exports)
    try:
        keeper.start()
        deadline = time.monotonic() + 120
        while not keeper.all_running():
            if time.monotonic() > deadline:
                raise SystemExit(f"The jobs did not all start; logs in {work}")
            time.sleep(0.5)
        print(f"{args.imports} imports and {args.exports} exports running; loading http://127.0.0.1:{port} ...", flush=True)
        pages = f"{int(args.rate * POLL_EVERY)} pages polling every {POLL_EVERY:g} s, {args.seconds:g} s measured"
        load, rate = measure(
            args, title=f"This shape (gunicorn.conf.py, If-None-Match): {pages}", host=f"http://127.0.0.1:{port}",
            cookie=cookie, keeper=keeper, server_pid=processes[-1].pid, etag=True,
        )
        levels = ", ".join(f"{count} at niceness {value}" for value, count in sorted(worker_backend_niceness().items()))
        print(f"  workers' PostgreSQL backends: {levels or 'none open'}"
              f" (workers: niceness {os.environ.get('BACKGROUND_TASKS_WORKER_NICENESS', '19')})")
        met = rate >= 0.95 * args.rate and load["p99"] < 100 and not load["failures"]
        print(f"\n  target {'met' if met else 'NOT met'}: {args.rate:g} polls/s sustained with p99 under 100 ms")
        if not args.no_peer:
            stop_process(processes.pop())
            port = free_port()
            processes.append(start_gunicorn(env, work / "gunicorn-peer.log", port, PEER_GUNICORN_ARGS))
            _peer_load, peer_rate = measure(
                args, title=f"Peer (3 sync workers, no persistent connections, no If-None-Match): {pages}",
                host=f"http://127.0.0.1:{port}", cookie=cookie, keeper=keeper, server_pid=processes[-1].pid, etag=False,
            )
            print(f"\n  this shape / peer: {rate / peer_rate:.2f}x the polls per second")
        print(f"\nJobs meanwhile: imports started {keeper.started['imports']}, finished {keeper.finished['imports']}; "
              f"exports started {keeper.started['exports']}, finished {keeper.finished['exports']}")
    finally:
        keeper.stop.set()
        keeper.join(10)
        for proc in reversed(processes):
            stop_process(proc)
        end_bench_jobs()
        if args.worker_cpu_shares:
            with contextlib.suppress(OSError):
                (Path("/sys/fs/cgroup/cpu") / f"bench-polling-workers-{os.getpid()}").rmdir()
        # The exports written meanwhile take gigabytes; the logs stay for a look.
        shutil.rmtree(work / "private", ignore_errors=True)
        feed.unlink(missing_ok=True)
        print(f"Logs of the workers and gunicorn: {work}")


if __name__ == "__main__":
    main()
