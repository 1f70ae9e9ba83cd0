"""Celery workers lower their CPU priority when they start, so the web process on the machine goes first."""
import os

import pytest

from background_tasks.services import background_task_create
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import SleepJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def test_a_worker_and_its_pool_processes_run_at_the_lowered_priority(celery_worker_factory):
    ours = niceness(0)
    worker = celery_worker_factory(BACKGROUND_TASKS_WORKER_NICENESS="7")
    wait_until(lambda: worker.pool_child_pids(), what="pool processes")
    assert niceness(worker.pid) == min(ours + 7, 19)
    assert {niceness(pid) for pid in worker.pool_child_pids()} == {min(ours + 7, 19)}
    assert "Worker CPU priority lowered: niceness" in worker.log()
    # and it still runs jobs
    job = background_task_create(model=SleepJob, triggered_by="test", steps=1)
    wait_until(lambda: SleepJob.objects.get(pk=job.pk).is_terminal(), what="the job to finish")
    assert SleepJob.objects.get(pk=job.pk).status == "completed"


def test_zero_keeps_the_priority(celery_worker_factory):
    ours = niceness(0)
    worker = celery_worker_factory(BACKGROUND_TASKS_WORKER_NICENESS="0")
    wait_until(lambda: worker.pool_child_pids(), what="pool processes")
    assert niceness(worker.pid) == ours
    assert "Worker CPU priority lowered" not in worker.log()


def parse_autogroup(text: str) -> int | None:
    """The niceness in `/autogroup-85 nice 0`; None for an empty file.

    The file is empty for a process in the root group: one in init's own session that never
    started a session of its own (a CI runner's children, for one).
    """
    return int(text.split("nice")[1]) if "nice" in text else None


def autogroup_nice(pid: int) -> int | None:
    try:
        text = open(f"/proc/{pid}/autogroup").read()
    except OSError:
        return None
    return parse_autogroup(text)


def test_the_root_groups_empty_file_reads_as_no_group():
    assert parse_autogroup("/autogroup-85 nice 0\n") == 0
    assert parse_autogroup("/autogroup-12 nice 19\n") == 19
    assert parse_autogroup("") is None


def autogroups_on() -> bool:
    try:
        return open("/proc/sys/kernel/sched_autogroup_enabled").read().strip() == "1"
    except OSError:
        return False


@pytest.mark.skipif(not autogroups_on(), reason="the kernel does not group sessions (sched_autogroup_enabled)")
def test_a_worker_leading_its_own_session_lowers_its_sessions_group(celery_worker_factory):
    # Under autogroup scheduling a session is a group of its own, shared the CPU with the web
    # server's session as an equal whatever the niceness of its processes.
    ours = autogroup_nice(os.getpid())
    worker = celery_worker_factory(BACKGROUND_TASKS_WORKER_NICENESS="7")
    wait_until(lambda: worker.pool_child_pids(), what="pool processes")
    assert os.getsid(worker.pid) == worker.pid
    assert autogroup_nice(worker.pid) == 7
    assert {autogroup_nice(pid) for pid in worker.pool_child_pids()} == {7}
    assert "Worker session's scheduling group lowered too: niceness 7" in worker.log()
    assert autogroup_nice(os.getpid()) == ours  # the test's own session is untouched


LOWER = (
    "import django; django.setup(); "
    "from background_tasks.celery_tasks import _lower_session_group; "
    "import sys; print(_lower_session_group(6)); sys.stdout.write(open('/proc/self/autogroup').read())"
)


@pytest.mark.skipif(not autogroups_on(), reason="the kernel does not group sessions (sched_autogroup_enabled)")
def test_only_a_session_leader_lowers_its_group():
    import subprocess
    import sys

    from tests.fixtures.celery_worker import REPO_ROOT

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(REPO_ROOT)}
    before = autogroup_nice(os.getpid())
    # Started from a terminal (not its session's leader): the shell's group is left alone.
    inside = subprocess.run([sys.executable, "-c", LOWER], env=env, capture_output=True, text=True, timeout=60)
    lowered, _, group = inside.stdout.partition("\n")
    assert (lowered, parse_autogroup(group)) == ("False", before), inside.stderr
    assert autogroup_nice(os.getpid()) == before
    # In a session of its own: its group.
    alone = subprocess.run([sys.executable, "-c", LOWER], env=env, capture_output=True, text=True, timeout=60,
                           start_new_session=True)
    lowered, _, group = alone.stdout.partition("\n")
    assert (lowered, parse_autogroup(group)) == ("True", 6), alone.stderr
