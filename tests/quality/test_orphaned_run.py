"""A run whose job process dies does not live on: the plugin sees its parent gone and kills its group."""
import json
import os
import signal
import subprocess
import sys
import textwrap

from quality.test_runs.protocol import PROGRESS_ENV
from quality.test_runs.selection import project_root
from tests.fixtures.celery_worker import wait_until

from .helpers import SLOW, group_members

# Stands in for a job's worker: starts pytest as the runner does, says its pid, then waits to be killed.
FAKE_JOB = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "quality.test_runs.plugin", "-p", "no:cacheprovider", "-q", sys.argv[1]],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    print(child.pid, flush=True)
    time.sleep(600)
    """
)


def test_pytest_kills_its_group_when_the_job_process_dies(tmp_path):
    progress = tmp_path / "progress.json"
    env = {
        **os.environ,
        PROGRESS_ENV: str(progress),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'orphan.db'}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    job = subprocess.Popen(
        [sys.executable, "-c", FAKE_JOB, SLOW], cwd=project_root(), env=env, stdout=subprocess.PIPE, text=True
    )
    pgid = None
    try:
        pgid = int(job.stdout.readline())

        def sleeping_with_its_child():
            state = json.loads(progress.read_text()) if progress.exists() else {}
            return state.get("done") == 4 and len(group_members(pgid)) >= 2

        wait_until(sleeping_with_its_child, timeout=120, interval=0.2, what="the sample's sleeping test and its child")

        job.kill()
        job.wait()

        wait_until(lambda: not group_members(pgid), timeout=30, what="the orphaned group to be gone")
    finally:
        job.kill()
        job.wait()
        if pgid and group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
