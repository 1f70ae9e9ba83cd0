"""The failures users meet end as plain sentences; the technical cause goes to the logs and to staff."""
import csv
import io
import logging

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from kombu import Connection

from background_tasks import failures
from background_tasks.failures import readable_failure, technical_cause
from background_tasks.models import AdminNotification
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob, FailJob

DRIVER_TEXT = "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"


def raised(func):
    """Return the exception ``func`` really raises."""
    try:
        func()
    except BaseException as exc:  # noqa: BLE001  (the test wants whatever it is)
        return exc
    pytest.fail("nothing was raised")


def read_one_huge_field():
    # csv's own default limit, whatever an import set for the process (the feed reader raises it).
    previous = csv.field_size_limit(131_072)
    try:
        list(csv.reader(io.StringIO("a" * 200_000 + "\n")))
    finally:
        csv.field_size_limit(previous)


def unreachable_broker():
    with Connection("redis://127.0.0.1:1/0", transport_options={"max_retries": 0}) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0)


def lost_database():
    try:
        raise OSError(DRIVER_TEXT)
    except OSError as driver_error:
        raise OperationalError(DRIVER_TEXT) from driver_error


@pytest.mark.parametrize(
    ("make_error", "sentence"),
    [
        (lost_database, failures.DATABASE_LOST),
        (unreachable_broker, failures.BROKER_DOWN),
        (lambda: open("/nonexistent/feed.csv"), failures.FILE_UNREADABLE),  # noqa: SIM115
        (lambda: b"caf\xe9 \xff".decode("utf-8"), failures.NOT_TEXT),
        (read_one_huge_field, failures.FIELD_TOO_LARGE.format(limit="131,072")),
    ],
    ids=["database lost", "broker down", "file missing", "not text", "field too large"],
)
def test_a_failure_users_meet_reads_as_a_sentence(make_error, sentence):
    exc = raised(make_error)

    assert readable_failure(exc) == sentence
    assert "\n" not in sentence and sentence.endswith(".")


def test_the_time_limit_names_the_limit(settings):
    from background_tasks.dispatch import celery_app

    limit = celery_app().conf.task_time_limit
    assert readable_failure(SoftTimeLimitExceeded()) == failures.TIME_LIMIT.format(
        limit=f"{limit // 3600} h {limit % 3600 // 60:02d} min"
    )


def test_an_unknown_failure_keeps_its_type_and_first_line_only():
    exc = RuntimeError("disk on fire\n  at sector 7\n  and sector 8")

    assert readable_failure(exc) == "Unexpected error (RuntimeError): disk on fire"


def test_the_cause_lists_the_whole_chain():
    exc = raised(lost_database)

    assert technical_cause(exc) == f"OperationalError: {DRIVER_TEXT.strip()}\nOSError: {DRIVER_TEXT.strip()}"


def test_a_crashed_job_shows_the_sentence_and_gives_staff_the_cause(db, monkeypatch, caplog, run_on_commit):
    def execute(self, progress):
        lost_database()

    monkeypatch.setattr(FailJob, "execute", execute)

    with caplog.at_level(logging.ERROR, logger="background_tasks.services"):
        job = run_on_commit(background_task_create, model=FailJob, triggered_by="test")

    job.refresh_from_db()
    assert (job.status, job.error_message) == (TaskStatus.FAILED, failures.DATABASE_LOST)
    note = AdminNotification.objects.get(job_id=job.pk)
    assert note.message.startswith(failures.DATABASE_LOST)
    assert "server closed the connection unexpectedly" in note.message
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "server closed the connection unexpectedly" in caplog.text
    assert record.exc_info[0] is OperationalError


def crash_with_lost_database(monkeypatch, run_on_commit, model=FailJob):
    def execute(self, progress):
        lost_database()

    monkeypatch.setattr(model, "execute", execute)
    job = run_on_commit(background_task_create, model=model, triggered_by="test")
    job.refresh_from_db()
    return job


def test_a_crashed_job_keeps_the_technical_cause_in_its_details(db, monkeypatch, run_on_commit):
    job = crash_with_lost_database(monkeypatch, run_on_commit)

    assert job.error_message == failures.DATABASE_LOST
    assert job.error_detail == f"OperationalError: {DRIVER_TEXT.strip()}\nOSError: {DRIVER_TEXT.strip()}"


def test_the_cause_is_on_the_jobs_admin_page_under_the_message(admin_client, monkeypatch, run_on_commit):
    from django.urls import reverse

    job = crash_with_lost_database(monkeypatch, run_on_commit, model=DemoJob)

    page = admin_client.get(reverse("admin:testapp_demojob_change", args=[job.pk])).content.decode()
    message_at, detail_at = page.index("field-error_message"), page.index("field-error_detail")
    assert message_at < detail_at
    detail = page[detail_at : page.index("</div>", page.index("readonly", detail_at))]
    assert "OperationalError: server closed the connection unexpectedly<br>" in detail
    assert "OSError: server closed the connection unexpectedly" in detail


def test_the_status_body_carries_the_cause(staff_client, monkeypatch, run_on_commit):
    job = crash_with_lost_database(monkeypatch, run_on_commit)

    body = staff_client.get(f"/api/v1/admin/background-tasks/{job.pk}").json()

    assert body["error_message"] == failures.DATABASE_LOST
    assert body["error_detail"].startswith("OperationalError: server closed the connection unexpectedly")


def test_a_readable_failure_has_no_technical_cause(db, run_on_commit):
    job = run_on_commit(background_task_create, model=FailJob, triggered_by="test")
    job.refresh_from_db()

    assert (job.status, job.error_message, job.error_detail) == (TaskStatus.FAILED, "The test job failed on purpose", "")


def test_a_readable_failure_raised_from_an_error_keeps_that_cause(db, monkeypatch, run_on_commit):
    from background_tasks.jobs import JobFailed

    def execute(self, progress):
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except OSError as exc:
            raise JobFailed("The feed host hung up.") from exc

    monkeypatch.setattr(FailJob, "execute", execute)
    job = run_on_commit(background_task_create, model=FailJob, triggered_by="test")
    job.refresh_from_db()

    assert (job.error_message, job.error_detail) == ("The feed host hung up.", "ConnectionResetError: [Errno 104] Connection reset by peer")


def test_a_long_cause_is_clipped(db, monkeypatch, run_on_commit):
    def execute(self, progress):
        raise ValueError("x" * 100_000)

    monkeypatch.setattr(FailJob, "execute", execute)
    job = run_on_commit(background_task_create, model=FailJob, triggered_by="test")
    job.refresh_from_db()

    assert len(job.error_detail) == failures.DETAIL_MAX
    assert job.error_detail.startswith("ValueError: xxx") and job.error_detail.endswith("…")


def test_a_retry_clears_the_cause(db, monkeypatch, run_on_commit):
    from background_tasks.services import background_task_retry

    job = crash_with_lost_database(monkeypatch, run_on_commit)
    monkeypatch.setattr(FailJob, "execute", lambda self, progress: None)

    assert run_on_commit(background_task_retry, job=job, triggered_by="test")

    job.refresh_from_db()
    assert (job.status, job.error_message, job.error_detail) == (TaskStatus.COMPLETED, None, "")
