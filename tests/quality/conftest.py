"""Fixtures of the test-run tests; the sample suite they run is not part of the project's suite."""
import pytest

from background_tasks import inprocess
from background_tasks.services import background_task_cancel
from quality.models import TestRun
from tests.fixtures.celery_worker import wait_until

# The sample suite fails on purpose: only a test run that names it explicitly collects it.
collect_ignore = ["sample_suite"]


@pytest.fixture
def pool(settings, transactional_db):
    """Runs go to the real in-process pool (not eagerly), so a test can watch, cancel, or time them out."""
    settings.USE_CELERY = False
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "EAGER": False, "PROGRESS_INTERVAL": 0.5}
    yield settings
    for run in TestRun.objects.active():
        background_task_cancel(job=run, cancelled_by="teardown")
    inprocess.shutdown(wait=True)


def wait_for_end(run: TestRun, *, timeout: float = 120.0) -> TestRun:
    def ended():
        run.refresh_from_db()
        return run.is_terminal()

    wait_until(ended, timeout=timeout, interval=0.2, what=f"test run #{run.pk} to end")
    return run
