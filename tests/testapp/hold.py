"""Hold every running job at its progress reports while a file exists, so a test can keep a worker busy.

A worker started with ``TESTAPP_HOLD_JOBS_WHILE=<path>`` in its environment connects the hold; the
test creates the file before the jobs start and deletes it to let them go on. Production code runs
unchanged: the hold rides on the machinery's ``progress_reported`` signal.
"""
from __future__ import annotations

import os
import time

HOLD_ENV = "TESTAPP_HOLD_JOBS_WHILE"
# A forgotten file must not hang a test run: a job is held at most this long per report.
MAX_HOLD_SECONDS = 120.0


def connect_hold() -> None:
    """Connect the hold when this process's environment names a file (a no-op otherwise)."""
    path = os.environ.get(HOLD_ENV)
    if not path:
        return
    from background_tasks.signals import progress_reported

    def hold(**kwargs) -> None:
        deadline = time.monotonic() + MAX_HOLD_SECONDS
        while os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)

    progress_reported.connect(hold, weak=False, dispatch_uid="testapp-hold-jobs")
