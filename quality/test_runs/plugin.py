"""pytest plugin of a test run (loaded with -p): live counts to a file, node ids in the JUnit report, guards.

It runs inside the pytest process the job starts; it imports nothing of Django until the
session starts (pytest-django has configured Django by then).
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from .protocol import (
    BAD_OUTCOMES,
    ERROR,
    FAILED,
    LIVE_DATABASES_ENV,
    NODE_ID_PROPERTY,
    PASSED,
    PHASE_FINISHED,
    PHASE_RUNNING,
    PROGRESS_ENV,
    SKIPPED,
    XFAILED,
    XPASSED,
    database_identity,
)

# With the job reading every 0.5 s and writing at most every 1 s, counts are never 2 s stale.
WRITE_INTERVAL = 0.25
MESSAGE_MAX = 2000
REFUSED_EXIT_CODE = 3


class ProgressRecorder:
    """Counts of the session, written atomically to a small JSON file at most every WRITE_INTERVAL."""

    def __init__(self, path: str):
        self.path = path
        self.state = {
            "phase": "collecting",
            "collected": 0,
            "done": 0,
            "outcomes": {},
            "collection_errors": [],
            "refused": "",
        }
        self._outcome_of: dict[str, str] = {}
        self._last_write = 0.0

    def write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < WRITE_INTERVAL:
            return
        self._last_write = now
        partial = f"{self.path}.partial"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(self.state, handle)
        os.replace(partial, self.path)

    # --- hooks -------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        refusal = live_database_refusal()
        if refusal:
            self.state["refused"] = refusal
            self.write(force=True)
            pytest.exit(refusal, returncode=REFUSED_EXIT_CODE)
        self.write(force=True)

    def pytest_collectreport(self, report):
        if report.failed:
            text = str(report.longreprtext or "")
            self.state["collection_errors"].append({"nodeid": report.nodeid, "message": text[-MESSAGE_MAX:]})

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        # JUnit's classname/name cannot be turned back into a node id: give each case its own.
        for item in items:
            item.user_properties.append((NODE_ID_PROPERTY, item.nodeid))

    def pytest_collection_finish(self, session):
        self.state["collected"] = len(session.items)
        self.state["phase"] = PHASE_RUNNING
        self.write(force=True)

    def pytest_runtest_logreport(self, report):
        outcome = report_outcome(report)
        if outcome is None:
            return
        known = self._outcome_of.get(report.nodeid)
        # The first bad phase decides (a failed call stays failed even if teardown errors too).
        if known in BAD_OUTCOMES:
            return
        self._outcome_of[report.nodeid] = outcome

    def pytest_runtest_logfinish(self, nodeid, location):
        outcome = self._outcome_of.pop(nodeid, PASSED)
        outcomes = self.state["outcomes"]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.state["done"] += 1
        self.write()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.state["phase"] = PHASE_FINISHED
        self.state["exit_status"] = int(exitstatus)
        self.write(force=True)


def report_outcome(report) -> str | None:
    """Return what one phase's report says of its test, or None when it says nothing new."""
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return XPASSED if wasxfail else PASSED
        if report.skipped:
            return XFAILED if wasxfail else SKIPPED
        return FAILED
    if report.failed:
        return ERROR
    if report.when == "setup" and report.skipped:
        return "xfailed" if wasxfail else "skipped"
    return None


def live_database_refusal() -> str:
    """Return why the tests must not start (their test database would be a live one), or ""."""
    raw = os.environ.get(LIVE_DATABASES_ENV)
    if not raw:
        return ""
    live = {tuple(entry) for entry in json.loads(raw)}
    try:
        from django.db import connections
    except ImportError:
        return ""
    for alias in connections:
        connection = connections[alias]
        test_name = connection.creation._get_test_db_name()
        if database_identity(connection.vendor, connection.settings_dict, test_name) in live:
            return (
                f"Refused: the test database of '{alias}' ({test_name}) is a live database of the project; "
                "the run would overwrite it."
            )
    return ""


def _watch_parent(parent: int) -> None:
    """Kill this process group once the job that started it is gone (no orphaned test runs)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os.killpg(os.getpgrp(), signal.SIGKILL)


def pytest_configure(config):
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    config.pluginmanager.register(ProgressRecorder(path), "wizamart-test-run-progress")
    # An interrupt must stop the session cleanly (results written, test database dropped),
    # even when the job's process ignores SIGINT and passed that on.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="test-run-parent-watch", daemon=True).start()
