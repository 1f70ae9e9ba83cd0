"""The workers' PostgreSQL backends run at the workers' low CPU priority (`renice_job_backends`).

A job's database work runs in a backend of the server, not in the worker: these tests start a
real worker, run a job, and run the command as compose does (beside PostgreSQL, in a loop).
"""
import os
import re
import shutil
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from background_tasks.backend_priority import WORKER_APPLICATION_NAME, _is_that_backend
from background_tasks.services import background_task_create
from tests.fixtures.celery_worker import REPO_ROOT, celery_env, wait_until
from tests.testapp.models import SleepJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def worker_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            [WORKER_APPLICATION_NAME],
        )
        return [pid for (pid,) in cursor.fetchall()]


def own_backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def run_a_job() -> None:
    job = background_task_create(model=SleepJob, triggered_by="test", steps=1)
    wait_until(lambda: SleepJob.objects.get(pk=job.pk).is_terminal(), what="the job to finish")
    assert SleepJob.objects.get(pk=job.pk).status == "completed"


def manage(db_url: str, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "renice_job_backends", *args], cwd=REPO_ROOT, env=celery_env(db_url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen,
    )


def test_the_command_running_beside_postgresql_keeps_the_workers_backends_low(celery_worker_factory, celery_worker_db_url):
    # A round only every 120 s: the backends opened meanwhile are found because they announce themselves.
    keeper = manage(celery_worker_db_url, "--niceness", "13", "--every", "120")
    try:
        worker = celery_worker_factory()
        run_a_job()
        backends = wait_until(worker_backends, what="the worker's named connections")
        wait_until(lambda: all(niceness(pid) == 13 for pid in worker_backends()), timeout=30, what="the backends reniced")
        # the web's (here: the test's) backend and the server itself keep their priority
        assert niceness(own_backend()) == 0
        postmaster = int(open(f"/proc/{own_backend()}/stat").read().rsplit(")", 1)[1].split()[1])
        assert niceness(postmaster) == 0
        # the worker still runs jobs, and a backend it opens later is found too
        worker.stop()
        worker = celery_worker_factory()
        run_a_job()
        wait_until(lambda: set(worker_backends()) - set(backends), what="the new worker's connections")
        wait_until(lambda: all(niceness(pid) == 13 for pid in worker_backends()), timeout=30, what="the new backends reniced")
    finally:
        keeper.terminate()
        out, _ = keeper.communicate(timeout=10)
    assert "Keeping the workers' PostgreSQL backends at niceness 13" in out


def test_once_reports_what_it_did(celery_worker_factory, capsys):
    celery_worker_factory()
    run_a_job()
    wait_until(worker_backends, what="the worker's named connections")
    call_command("renice_job_backends", "--once", "--niceness", "11")
    found = re.search(r"Worker backends: (\d+) found, (\d+) lowered to niceness 11, 0 already there\.", capsys.readouterr().out)
    assert found and int(found[1]) == int(found[2]) >= 1
    call_command("renice_job_backends", "--once", "--niceness", "11")
    again = re.search(r"Worker backends: (\d+) found, 0 lowered to niceness 11, (\d+) already there\.", capsys.readouterr().out)
    assert again and int(again[1]) == int(again[2]) >= 1
    # never raised again: a lower niceness asked later leaves them where they are
    call_command("renice_job_backends", "--once", "--niceness", "5")
    assert {niceness(pid) for pid in worker_backends()} == {11}


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv to drop CAP_SYS_NICE")
def test_not_permitted_says_how_to_run_it(celery_worker_factory, celery_worker_db_url):
    celery_worker_factory()
    run_a_job()
    wait_until(worker_backends, what="the worker's named connections")
    # root without CAP_SYS_NICE: like any user who is neither PostgreSQL's nor privileged
    command = [shutil.which("setpriv"), "--bounding-set", "-sys_nice", sys.executable, "manage.py",
               "renice_job_backends", "--once", "--niceness", "9"]
    done = subprocess.run(command, cwd=REPO_ROOT, env=celery_env(celery_worker_db_url), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Not permitted to lower the priority of PostgreSQL backend" in done.stderr
    assert "run this command as PostgreSQL's operating-system user" in done.stderr
    assert "Traceback" not in done.stderr
    assert {niceness(pid) for pid in worker_backends()} == {0}


@pytest.mark.django_db
def test_a_process_that_is_not_that_backend_is_left_alone():
    assert not _is_that_backend(os.getpid(), 5432)  # a process of ours, not a PostgreSQL backend
    assert not _is_that_backend(2**22 + 12345, 5432)  # no such process here
    own = own_backend()
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_port FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        port = cursor.fetchone()[0]
    assert _is_that_backend(own, port)
    assert not _is_that_backend(own, port + 1 if port and port > 0 else 1)


def test_bad_arguments_are_command_errors():
    with pytest.raises(CommandError, match="between 0 and 19"):
        call_command("renice_job_backends", "--niceness", "25", "--once")
    with pytest.raises(CommandError, match="positive number of seconds"):
        call_command("renice_job_backends", "--every", "0")
