"""Loading the WSGI or ASGI application (as gunicorn or uvicorn do) starts the in-process janitor."""
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import REPO_ROOT, database_url, wait_until
from tests.testapp.models import SleepJob

# Load the entry point, then live on as a server would (its threads are daemons).
SERVE = "import importlib, sys, time; importlib.import_module(sys.argv[1]); time.sleep(120)"


def server_database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    return database_url(settings_dict)


@pytest.mark.parametrize("entry_point", ["wizamart.wsgi", "wizamart.asgi"])
def test_server_entry_point_runs_the_job_its_last_process_lost(transactional_db, entry_point, tmp_path):
    # Pending when the previous server stopped: queued in its memory, so gone with it.
    job = background_task_create(model=SleepJob, triggered_by="test", dispatch=False, steps=1)
    SleepJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": server_database_url(),
        "USE_CELERY": "false",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-c", SERVE, entry_point], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_until(lambda: job.refresh_from_db() or job.is_terminal(), timeout=60, what="the janitor to run the job")
        finally:
            server.kill()
            server.wait(10)

    assert (job.status, job.runs) == (TaskStatus.COMPLETED, 1), log_path.read_text()
    assert job.worker_pid == server.pid  # run inside the server process, by its pool
