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
from tests.testapp.models import FailJob

DRIVER_TEXT = "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"


def raised(func):
    """Return the exception ``func`` really raises."""
    try:
        func()
    except BaseException as exc:  # noqa: BLE001  (the test wants whatever it is)
        return exc
    pytest.fail("nothing was raised")


def read_one_huge_field():
    list(csv.reader(io.StringIO("a" * 200_000 + "\n")))


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
