"""A run stops for good: cancel and the time limit kill pytest's whole process group; progress is live."""
import re

import pytest

from background_tasks.services import background_task_cancel
from background_tasks.status import TaskStatus
from quality.models import TestRun
from quality.test_runs import services
from tests.fixtures.celery_worker import wait_until

from .conftest import wait_for_end
from .helpers import SLOW, group_members

pytestmark = pytest.mark.django_db(transaction=True)
LIVE_COUNT = re.compile(r"^(\d+) of 5 tests$")


def start_slow_run() -> TestRun:
    run = services.test_run_create(triggered_by="cli:tester", paths=[SLOW]).run
    # Live counts arrive while pytest runs; the last test starts a child process in the group.
    seen = []

    def sleeper_started():
        run.refresh_from_db()
        assert not run.is_terminal(), f"the run ended early: {run.status} {run.error_message}"
        seen.append(run.progress_message)
        return run.process_id and len(group_members(run.process_id)) >= 2 and run.progress_message == "4 of 5 tests"

    wait_until(sleeper_started, timeout=120, interval=0.1, what="the sample's sleeping test and its child")
    counts = [int(m.group(1)) for text in seen if (m := LIVE_COUNT.match(text))]
    assert counts == sorted(counts) and counts[-1] == 4
    assert run.progress_percent == 80
    return run


def test_cancel_kills_the_whole_process_group(pool):
    run = start_slow_run()
    pgid = run.process_id

    assert background_task_cancel(job=run, cancelled_by="tester")
    wait_for_end(run, timeout=60)

    assert run.status == TaskStatus.CANCELLED
    wait_until(lambda: not group_members(pgid), timeout=10, what="no process left in the run's group")


def test_the_time_limit_kills_the_whole_process_group_and_keeps_what_ran(pool):
    pool.QUALITY_TEST_RUN_TIMEOUT = 15
    pool.QUALITY_TEST_RUN_KILL_GRACE = 3.0
    run = start_slow_run()
    pgid = run.process_id

    wait_for_end(run, timeout=60)

    assert run.status == TaskStatus.FAILED
    assert run.error_message == "Stopped by the time limit: pytest ran longer than 15s (4 of 5 tests had run)."
    assert not group_members(pgid)
    # pytest stopped on the interrupt and wrote its report: the tests that ran are kept.
    assert run.results.filter(outcome="passed").count() == 4
