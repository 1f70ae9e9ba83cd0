"""A run never touches a live database: refused when its test database would be one, or cannot be created."""
from pathlib import Path

import pytest
from django.db import connection

from background_tasks.status import TaskStatus
from quality.models import TestRun
from quality.test_runs import services
from quality.test_runs.guard import database_url_of
from wizamart.marketplace.models import Vendor

from .helpers import DATABASE

pytestmark = pytest.mark.django_db(transaction=True)


def url_whose_test_database_is_the_live_one() -> str:
    """Return a DATABASE_URL whose pytest-django test database is the one this process uses."""
    live = connection.settings_dict
    name = Path(live["NAME"]).name if connection.vendor == "sqlite" else live["NAME"]
    assert name.startswith("test_")
    base = {**live, "NAME": str(Path(live["NAME"]).with_name(name[5:])) if connection.vendor == "sqlite" else name[5:]}
    return database_url_of(base, vendor=connection.vendor)


def test_a_run_whose_test_database_is_the_live_one_is_refused(settings):
    Vendor.objects.create(code="live-data", name="Must survive")
    settings.QUALITY_TEST_RUN_DATABASE_URL = url_whose_test_database_is_the_live_one()

    run = services.test_run_create(triggered_by="cli:tester", paths=[DATABASE]).run
    run.refresh_from_db()

    assert run.status == TaskStatus.FAILED
    assert run.error_message.startswith("Refused: the test")
    assert "live database" in run.error_message
    assert not run.results.exists()
    assert Vendor.objects.filter(code="live-data").exists()


def test_the_check_inside_pytest_refuses_too(settings):
    """SQLite's test database name comes from the test settings: the plugin's check (in pytest) refuses it."""
    if connection.vendor != "sqlite":
        pytest.skip("on PostgreSQL the check before pytest starts already refuses it (previous test)")
    Vendor.objects.create(code="live-data", name="Must survive")
    settings.QUALITY_TEST_RUN_DATABASE_URL = url_whose_test_database_is_the_live_one()

    run = TestRun.objects.get(pk=services.test_run_create(triggered_by="cli:tester", paths=[DATABASE]).run.pk)

    assert run.status == TaskStatus.FAILED
    assert run.exit_code == 3
    assert run.command, "pytest started and refused by itself"
    assert Vendor.objects.filter(code="live-data").exists()


@pytest.mark.postgres
def test_a_database_user_who_cannot_create_databases_is_refused(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles")
    role = "wz_test_run_no_createdb"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
        cursor.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB")
    try:
        live = connection.settings_dict
        settings.QUALITY_TEST_RUN_DATABASE_URL = database_url_of({**live, "USER": role, "PASSWORD": ""}, vendor="postgresql")

        run = TestRun.objects.get(pk=services.test_run_create(triggered_by="cli:tester", paths=[DATABASE]).run.pk)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP ROLE IF EXISTS {role}")

    assert run.status == TaskStatus.FAILED
    assert run.error_message.startswith(f"Refused: {role} may not create databases")
    assert run.command == []
