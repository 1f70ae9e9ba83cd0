"""Run pytest in a subprocess: fixed argv, no shell, its own process group, a minimal environment.

The group is killed on time-out, on cancel, and when pytest ends (nothing it started outlives it).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import connections

from .conf import test_run_settings
from .protocol import LIVE_DATABASES_ENV, PROGRESS_ENV, database_identity
from .selection import Selection, project_root

PLUGIN = "quality.test_runs.plugin"
SETTINGS_MODULE = "tests.settings"
OUTPUT_TAIL = 8000


@dataclass
class Workspace:
    """The files of one run: the live progress file, the JUnit report, pytest's output."""

    folder: Path

    @property
    def progress(self) -> Path:
        return self.folder / "progress.json"

    @property
    def junit(self) -> Path:
        return self.folder / "junit.xml"

    @property
    def output(self) -> Path:
        return self.folder / "output.log"


@dataclass
class ProcessResult:
    exit_code: int | None
    seconds: float
    timed_out: bool
    output_tail: str


def pytest_command(selection: Selection, *, workspace: Workspace) -> list[str]:
    """Return the argv of a run: fixed options, then the validated selection."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        PLUGIN,
        "-p",
        "no:cacheprovider",
        f"--rootdir={project_root()}",
        f"--junitxml={workspace.junit}",
        "-o",
        "junit_family=xunit2",
        "-q",
        "--color=no",
        *selection.pytest_args(),
    ]


def live_database_identities() -> list[tuple[str, str, str, str]]:
    """Return the databases this process works on: no test run may use one as its test database."""
    found = []
    for alias in connections:
        connection = connections[alias]
        found.append(database_identity(connection.vendor, connection.settings_dict, connection.settings_dict["NAME"]))
    return found


def pytest_environment(*, workspace: Workspace, database_url: str) -> dict[str, str]:
    """Return the environment of pytest: the allowlisted variables, and what the run itself needs."""
    env = {name: os.environ[name] for name in test_run_settings.ENV_ALLOWLIST if name in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DATABASE_URL": database_url,
            # A throwaway key: the tests never see the web process's secrets.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "USE_CELERY": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(project_root()),
            PROGRESS_ENV: str(workspace.progress),
            LIVE_DATABASES_ENV: json.dumps(live_database_identities()),
        }
    )
    if test_run_settings.REDIS_URL:
        env["REDIS_URL"] = test_run_settings.REDIS_URL
    return env


def read_progress(workspace: Workspace) -> dict:
    """Return what the plugin last wrote ({} before its first write)."""
    try:
        return json.loads(workspace.progress.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def kill_group(process: subprocess.Popen, *, grace: float) -> None:
    """Interrupt the group (pytest stops cleanly), then kill whatever is left of it."""
    pgid = process.pid
    if process.poll() is None:
        _signal_group(pgid, signal.SIGINT)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(pgid, signal.SIGKILL)
    process.wait()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def run_pytest(
    command: list[str],
    *,
    env: dict[str, str],
    workspace: Workspace,
    on_start: Callable[[int], None],
    on_poll: Callable[[dict], None],
) -> ProcessResult:
    """Run ``command`` until it ends or its time is up, calling ``on_poll`` with the live progress.

    ``on_poll`` may raise (JobInterrupted on cancel): the group is killed and the error goes on.
    """
    timeout = float(test_run_settings.TIMEOUT)
    grace = float(test_run_settings.KILL_GRACE)
    poll = float(test_run_settings.POLL_INTERVAL)
    started = time.monotonic()
    timed_out = False
    with open(workspace.output, "wb") as output:
        process = subprocess.Popen(  # noqa: S603  (fixed argv, validated selection, no shell)
            command,
            cwd=project_root(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            shell=False,
            start_new_session=True,
            close_fds=True,
        )
        try:
            on_start(process.pid)
            while process.poll() is None:
                if time.monotonic() - started > timeout:
                    timed_out = True
                    break
                try:
                    process.wait(timeout=poll)
                except subprocess.TimeoutExpired:
                    pass
                on_poll(read_progress(workspace))
        finally:
            # Always: on time-out, on cancel, and after a normal end (for what the tests left running).
            kill_group(process, grace=grace)
    return ProcessResult(
        exit_code=process.returncode,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        output_tail=_tail(workspace.output),
    )


def _tail(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - OUTPUT_TAIL))
        return handle.read().decode("utf-8", "replace")
