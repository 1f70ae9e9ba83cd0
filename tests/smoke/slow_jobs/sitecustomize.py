"""Loaded by the smoke test's `make run` (on PYTHONPATH): every progress report of a job waits a moment.

The demo's jobs finish in well under a second; the test wants to watch the running indicator move.
The delay rides on the machinery's progress signal, so the server runs the production code unchanged.
"""
import os
import sys
import time
from pathlib import Path

DELAY = float(os.environ.get("SMOKE_PROGRESS_DELAY", "0") or 0)

# Only the server: the demo jobs that `make run` runs while setting up keep their pace.
if DELAY > 0 and "runserver" in sys.argv:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from background_tasks.signals import progress_reported

    def _wait(**kwargs):
        time.sleep(DELAY)

    progress_reported.connect(_wait, weak=False, dispatch_uid="smoke-test-slow-jobs")
