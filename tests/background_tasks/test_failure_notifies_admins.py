"""A failed job keeps a readable error_message, and admins get a notification and a mail."""
import pytest
from django.core import mail

from background_tasks.models import AdminNotification
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.fixtures.celery_worker import wait_until
from tests.testapp.models import FailJob, SleepJob


@pytest.fixture(autouse=True)
def _admins(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]


def test_job_failed_stores_its_message_and_notifies(db, run_on_commit):
    job = run_on_commit(background_task_create, model=FailJob, triggered_by="api:alice", reason="Feed has no header row")

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "Feed has no header row"
    assert job.completed_at is not None
    note = AdminNotification.objects.get(job_id=job.pk)
    assert note.task_type == FailJob.task_type
    assert note.level == AdminNotification.Level.ERROR
    assert note.message == "Feed has no header row"
    assert f"#{job.pk} failed" in note.title
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "Feed has no header row" in mail.outbox[0].body
    assert "api:alice" in mail.outbox[0].body


def test_unexpected_exception_fails_the_job_with_a_readable_message(db, run_on_commit):
    job = run_on_commit(background_task_create, model=FailJob, triggered_by="test", crash=True, reason="disk on fire")

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "Unexpected error (RuntimeError): disk on fire"
    assert "Traceback" not in job.error_message
    assert AdminNotification.objects.filter(job_id=job.pk).count() == 1
    assert len(mail.outbox) == 1


def test_failure_midway_keeps_the_progress_it_reached(db, run_on_commit):
    job = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=5, fail_at_step=3)

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "Step 4 refused to run"
    assert job.steps_done == 3
    assert job.progress_percent == 60


def test_successful_job_notifies_nobody(db, run_on_commit):
    job = run_on_commit(background_task_create, model=SleepJob, triggered_by="test", steps=1)

    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED
    assert not AdminNotification.objects.exists()
    assert mail.outbox == []


@pytest.mark.celery_worker
@pytest.mark.postgres
def test_failure_in_a_real_worker_notifies(celery_worker):
    job = background_task_create(model=FailJob, triggered_by="test", reason="Remote API said no")

    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), what="the job to fail")
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "Remote API said no"
    assert AdminNotification.objects.get(job_id=job.pk).message == "Remote API said no"
