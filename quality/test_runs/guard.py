"""Refuse a run that could touch a live database: checked before pytest starts (and again inside it)."""
from __future__ import annotations

import importlib.util
from urllib.parse import quote

import environ
from django.db import connections

from background_tasks.jobs import JobFailed

from .conf import test_run_settings
from .protocol import database_identity
from .runner import live_database_identities

CONNECT_TIMEOUT = 5


def test_database_url() -> str:
    """Return the DATABASE_URL the tests get: the setting, or this process's own server and credentials."""
    configured = test_run_settings.DATABASE_URL
    if configured:
        return configured
    return database_url_of(connections["default"].settings_dict, vendor=connections["default"].vendor)


def database_url_of(settings_dict: dict, *, vendor: str) -> str:
    name = str(settings_dict["NAME"])
    if vendor == "sqlite":
        return f"sqlite:///{name}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}.get(vendor, vendor)
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"{scheme}://{auth}{host}{port}/{quote(name, safe='')}"


def test_run_preflight(*, database_url: str) -> None:
    """Raise JobFailed when pytest is missing, or the tests would use a live database or could not create their own."""
    if importlib.util.find_spec("pytest") is None or importlib.util.find_spec("pytest_django") is None:
        raise JobFailed("pytest is not installed here: a test run needs the test tools (pip install -r requirements-dev.txt).")
    try:
        config = environ.Env.db_url_config(database_url)
    except Exception:
        raise JobFailed("QUALITY_TEST_RUN_DATABASE_URL is not a database URL.") from None
    vendor = _vendor(config["ENGINE"])
    test_name = _test_name(config, vendor)
    if test_name and database_identity(vendor, config, test_name) in set(live_database_identities()):
        raise JobFailed(
            f"Refused: the tests' database would be {test_name}, a live database of the project "
            "(pytest-django would drop and recreate it). Point QUALITY_TEST_RUN_DATABASE_URL elsewhere."
        )
    if vendor == "postgresql":
        _check_can_create_database(config)


def _vendor(engine: str) -> str:
    return {"django.db.backends.postgresql": "postgresql", "django.db.backends.sqlite3": "sqlite"}.get(
        engine, engine.rsplit(".", 1)[-1]
    )


def _test_name(config: dict, vendor: str) -> str | None:
    """Return the test database name pytest-django will create (SQLite: left to the plugin's check)."""
    explicit = (config.get("TEST") or {}).get("NAME")
    if explicit:
        return explicit
    if vendor == "sqlite":
        return None
    return f"test_{config['NAME']}"


def _check_can_create_database(config: dict) -> None:
    import psycopg

    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": "postgres",
        "connect_timeout": CONNECT_TIMEOUT,
    }
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
            row = conn.execute("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    except psycopg.Error as exc:
        raise JobFailed(f"Cannot reach the tests' database server: {str(exc).strip().splitlines()[0]}") from None
    if not row or not row[0]:
        user = config.get("USER") or "the database user"
        raise JobFailed(
            f"Refused: {user} may not create databases, so pytest-django cannot create the test database "
            "(grant CREATEDB, or set QUALITY_TEST_RUN_DATABASE_URL to a user that may)."
        )
