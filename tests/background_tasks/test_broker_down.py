"""Broker unreachable: the trigger still answers 202, the job waits pending, the sweep sends it later."""
import socket
from contextlib import contextmanager

import pytest

from background_tasks.dispatch import WAITING_FOR_QUEUE
from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep
from tests.fixtures.celery_worker import wait_until
from wizamart.celery import app
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def _reset_connections():
    # Drop the app's cached pools; kombu keeps one producer pool per broker URL, so both survive.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_unreachable(url=CLOSED_PORT_BROKER):
    """Point this process's Celery app at a broker that cannot be reached."""
    real = app.conf.broker_url
    _reset_connections()
    app.conf.broker_url = url
    try:
        yield
    finally:
        _reset_connections()
        app.conf.broker_url = real


def test_trigger_with_broker_down_keeps_job_pending_then_sweep_publishes_it(celery_worker, staff_client):
    with broker_unreachable():
        response = staff_client.post("/api/v1/marketplace/subscription-maintenance", format="json")

        assert response.status_code == 202, response.content
        body = response.json()
        assert body["status"] == TaskStatus.PENDING
        job = SubscriptionMaintenanceRun.objects.get(pk=body["job_id"])
        assert job.status == TaskStatus.PENDING
        assert job.progress_message == WAITING_FOR_QUEUE
        assert job.queued_at is None and job.celery_task_id is None
        status = staff_client.get(body["status_url"]).json()
        assert status["status"] == TaskStatus.PENDING
        assert "waiting for the task queue" in status["progress_message"].lower()

        # While the broker is still down, a sweep publishes nothing and loses nothing.
        report = background_tasks_sweep()
        assert report.published == 0
        job.refresh_from_db()
        assert job.status == TaskStatus.PENDING

    report = background_tasks_sweep()

    assert report.published == 1
    job.refresh_from_db()
    # Published: marked queued, or already claimed by a worker quicker than the publish mark.
    assert job.celery_task_id and (job.queued_at is not None or job.status != TaskStatus.PENDING)
    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the swept job to finish")
    assert job.status == TaskStatus.COMPLETED
    assert job.attempts == 1


# Fail-fast is timed: a publish that retried or hung would blow this budget instead of CI's.
@pytest.mark.timeout(10, func_only=True)
def test_publish_to_a_dead_broker_fails_without_retrying():
    """One connection attempt: a publish gives up at the first refusal instead of sleeping and retrying."""
    from kombu.exceptions import OperationalError

    attempts = []
    with broker_unreachable():
        conn = app.connection_for_write()
        opts = conn._extract_failover_opts()
        try:
            conn._ensure_connection(errback=lambda exc, interval: attempts.append(interval), **opts)
        except OperationalError:
            pass
        else:
            pytest.fail("connecting to a closed port succeeded")
        finally:
            conn.release()
    assert opts["max_retries"] == 0
    assert attempts == []  # no back-off sleep was ever scheduled


@pytest.fixture
def silent_broker():
    """A TCP port that accepts connections and never answers: a hung Redis or a half-open network."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.mark.timeout(20, func_only=True)
def test_trigger_against_a_broker_that_never_answers_gives_up_and_keeps_the_job(
    silent_broker, staff_client, celery_settings, transactional_db
):
    with broker_unreachable(silent_broker):
        # Without socket timeouts this request would wait on the dead connection forever.
        response = staff_client.post("/api/v1/marketplace/subscription-maintenance", format="json")

    assert response.status_code == 202, response.content
    job = SubscriptionMaintenanceRun.objects.get(pk=response.json()["job_id"])
    assert job.status == TaskStatus.PENDING
    assert job.progress_message == WAITING_FOR_QUEUE
