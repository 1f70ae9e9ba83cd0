"""The PostgreSQL health check asks the socket first: no SELECT 1 for a quiet connection, a real check for a closed one."""
import time

import pytest
from django.db import connection, connections

from wizamart.postgresql.base import DatabaseWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kept_connection(monkeypatch):
    """A second connection to the test database, as a web thread keeps it (CONN_MAX_AGE, health checks on)."""
    if not isinstance(connections["default"], DatabaseWrapper):
        pytest.skip("needs PostgreSQL")
    conn = connections.create_connection("default")
    conn.settings_dict = {**conn.settings_dict, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    conn.ensure_connection()
    checks = []
    original = DatabaseWrapper.is_usable

    def counting_is_usable(self):
        checks.append(self)
        return original(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counting_is_usable)
    yield conn, checks
    conn.close()


def start_request(conn) -> None:
    """What Django does to a kept connection between two requests, then the request's first query."""
    conn.health_check_done = False
    conn.close_if_health_check_failed()


def backend_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_settings_use_this_backend_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    assert type(connections["default"]) is DatabaseWrapper


def test_a_quiet_connection_is_kept_without_a_query(kept_connection):
    conn, checks = kept_connection
    pid = backend_pid(conn)
    for _ in range(5):
        start_request(conn)
        assert backend_pid(conn) == pid  # the same server session, no reconnect
    assert checks == []


def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it(kept_connection):
    conn, checks = kept_connection
    pid = backend_pid(conn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's goodbye reaches the socket within moments.
    deadline = time.monotonic() + 10
    while conn._socket_is_quiet() and time.monotonic() < deadline:
        time.sleep(0.05)
    start_request(conn)
    assert checks == [conn]  # the socket spoke: Django's SELECT 1 decided, and failed
    assert backend_pid(conn) != pid  # a new connection answered the request's query


def test_a_closed_psycopg_connection_is_not_called_quiet(kept_connection):
    conn, _checks = kept_connection
    conn.connection.close()
    assert conn._socket_is_quiet() is False
    start_request(conn)
    assert backend_pid(conn) > 0
