"""The app started as the README's first command starts it (`make run`), in its own process group."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLOW_JOBS = Path(__file__).resolve().parent / "slow_jobs"
# Set-up included (virtualenv check, collectstatic, migrations, the demo's jobs) on a busy machine.
START_TIMEOUT = 600.0
STOP_TIMEOUT = 20.0
# Variables of the test run that must not leak into the app: its settings module, the test
# database, switches other tests use. What remains is the environment a developer types in.
INHERITED_PREFIXES = ("DJANGO_", "BACKGROUND_TASKS_", "IMPORTS_", "EXPORTS_", "ADMIN_", "MAKE", "MFLAGS")
INHERITED_NAMES = ("DATABASE_URL", "DEBUG", "USE_CELERY", "STATIC_ROOT", "MEDIA_ROOT", "PRIVATE_STORAGE_ROOT")
# Lines of the server's log that show something broken: an error response, a missing file,
# a Python warning or traceback.
HTTP_ERROR = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" [45]\d\d ')
TROUBLE = re.compile(r"Not Found:|Forbidden|Internal Server Error|\b\w+Warning\b|Traceback")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so that a fixture knows at teardown whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class FirstRun:
    """A `make run` in progress: its URL, its database and its log."""

    url: str
    database: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def troubles(self) -> list[str]:
        return [line for line in self.log().splitlines() if HTTP_ERROR.search(line) or TROUBLE.search(line)]

    def wait_until_serving(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`make run` exited with {self.process.returncode} before serving; its log:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/admin/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        pytest.fail(f"`make run` did not serve {self.url}/admin/login/ within {timeout:.0f}s; its log:\n{self.log()}")

    def stop(self) -> None:
        """End `make` and everything it started (runserver and its reloader child): the whole group."""
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


def first_run_environment(folder: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(INHERITED_PREFIXES) and name not in INHERITED_NAMES
    }
    env.update(
        # Its own SQLite file and folders: the developer's database and files stay untouched.
        DATABASE_URL=f"sqlite:///{folder / 'first-run.sqlite3'}",
        STATIC_ROOT=str(folder / "staticfiles"),
        MEDIA_ROOT=str(folder / "media"),
        PRIVATE_STORAGE_ROOT=str(folder / "private"),
        # Slow enough to watch: every progress report of a job waits a second (tests/smoke/slow_jobs
        # hooks the progress signal at interpreter start), and the demo feed's 26 rows make 13 batches.
        PYTHONPATH=str(SLOW_JOBS),
        SMOKE_PROGRESS_DELAY="1.0",
        IMPORTS_BATCH_SIZE="2",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def first_run(request, tmp_path):
    """Start `make run` on a free port with a temporary database; stop its process group at the end."""
    port = free_port()
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", "HOST=127.0.0.1", f"PORT={port}", f"FAKE_LETZSHOP_PORT={free_port()}"],
            cwd=REPO,
            env=first_run_environment(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = FirstRun(url=f"http://127.0.0.1:{port}", database=tmp_path / "first-run.sqlite3", log_path=log_path, process=process)
    try:
        run.wait_until_serving()
        yield run
    finally:
        run.stop()
    if getattr(getattr(request.node, "report_call", None), "failed", False):
        print(f"----- log of `make run` ({log_path}) -----\n{run.log()}")
