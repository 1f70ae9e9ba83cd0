"""The check of a staged feed runs its ranges on two connections, and its tables never outlive the job."""
import pytest
from django.db import connection

from background_tasks.status import TaskStatus
from imports import staged
from imports.models import MarketplaceImportJob

pytestmark = pytest.mark.postgres

SLOW_INSERT = "INSERT INTO ranges_done SELECT %(lo)s, %(hi)s, pg_backend_pid() FROM pg_sleep(0.05)"
RANGES = [(1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, 55)]


@pytest.fixture
def ranges_done(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE ranges_done (lo int, hi int, pid int)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ranges_done")


def done_ranges() -> list[tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT lo, hi, pid FROM ranges_done ORDER BY lo")
        return cursor.fetchall()


def own_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_both_connections_take_ranges_and_each_range_runs_once(ranges_done):
    told = []
    staged.run_ranges(SLOW_INSERT, {}, RANGES, "SET jit TO off", told.append)

    rows = done_ranges()
    assert [(lo, hi) for lo, hi, _ in rows] == RANGES
    assert len({pid for *_, pid in rows}) == 2
    assert own_pid() in {pid for *_, pid in rows}
    assert told == sorted(told) and told[-1] == 55


@pytest.mark.django_db(transaction=True)
def test_a_range_the_second_connection_cannot_finish_is_run_on_the_first(ranges_done, caplog):
    main = own_pid()
    # Division by zero on any connection but this one: the second connection fails on its first range.
    failing = SLOW_INSERT + " WHERE 1 / (CASE WHEN pg_backend_pid() = %(main)s THEN 1 ELSE 0 END) = 1"
    told = []
    staged.run_ranges(failing, {"main": main}, RANGES, "SET jit TO off", told.append)

    rows = done_ranges()
    assert [(lo, hi) for lo, hi, _ in rows] == RANGES
    assert {pid for *_, pid in rows} == {main}
    assert told[-1] == 55
    assert "second connection stopped" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_one_connection_when_the_setting_says_so(ranges_done, settings):
    settings.IMPORTS_SECOND_CONNECTION = False
    staged.run_ranges(SLOW_INSERT, {}, RANGES[:3], "SET jit TO off", lambda done: None)

    assert {pid for *_, pid in done_ranges()} == {own_pid()}


def test_inside_a_transaction_the_ranges_run_on_its_connection(ranges_done):
    # A second connection would not see what this transaction has not committed.
    assert connection.in_atomic_block
    staged.run_ranges(SLOW_INSERT, {}, RANGES[:3], "SET jit TO off", lambda done: None)

    assert {pid for *_, pid in done_ranges()} == {own_pid()}


@pytest.mark.django_db(transaction=True)
def test_leftover_tables_of_ended_jobs_are_dropped_and_a_running_jobs_kept(vendor):
    ended = MarketplaceImportJob.objects.create(vendor=vendor, status=TaskStatus.FAILED, triggered_by="manual:test")
    running = MarketplaceImportJob.objects.create(vendor=vendor, status=TaskStatus.RUNNING, triggered_by="manual:test")
    names = {}
    with connection.cursor() as cursor:
        for job in (ended, running):
            names[job.pk] = f"{staged.TABLE_PREFIX}_{job.pk}"
            for suffix in ("", "_special", "_dup"):
                cursor.execute(f"CREATE UNLOGGED TABLE {names[job.pk]}{suffix} (rec bigint)")

    staged.StagedFeed.drop_leftovers()

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE %s ORDER BY relname", [f"{staged.TABLE_PREFIX}%"])
        left = [name for (name,) in cursor.fetchall()]
        for suffix in ("", "_special", "_dup"):
            cursor.execute(f"DROP TABLE {names[running.pk]}{suffix}")
    assert left == sorted(f"{names[running.pk]}{suffix}" for suffix in ("", "_dup", "_special"))
