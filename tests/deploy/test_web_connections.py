"""Real gunicorn with kept connections, as compose runs it: polls go on when PostgreSQL ends those connections."""
from __future__ import annotations

import psutil
import pytest
from django.db import connection

from tests.deploy.test_slow_clients import Gunicorn, job, staff_cookie  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POLLS = 30


def web_backends(server: Gunicorn) -> list[int]:
    """The PostgreSQL backend pids serving gunicorn's kept connections (matched by client port)."""
    ports = set()
    for proc in [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]:
        for conn in proc.net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == int(connection.settings_dict.get("PORT") or 5432):
                ports.add(conn.laddr.port)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND client_port = ANY(%s)", [list(ports)]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def server(tmp_path):
    # As compose runs it: each thread keeps its connection, checked before reuse.
    server = Gunicorn(
        log_path=tmp_path / "gunicorn.log", extra_args=["--workers", "1", "--threads", "2"],
        database_options="?conn_max_age=60&conn_health_checks=true",
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_polls_survive_postgresql_ending_the_web_connections(server, staff_cookie, job):  # noqa: F811  (fixtures)
    path = f"/api/v1/admin/background-tasks/{job.pk}"
    for _ in range(POLLS):
        assert server.get(path, cookie=staff_cookie, timeout=10) == 200
    backends = web_backends(server)
    assert backends, "gunicorn kept no connection"
    with connection.cursor() as cursor:
        for pid in backends:
            # Ended, not only signalled: wait (up to 10 s) until the backend has exited, or a poll
            # could pass its health check on a backend still exiting and fail on its next query.
            cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
            assert cursor.fetchone()[0] is True, f"backend {pid} did not exit"
    answers = [server.get(path, cookie=staff_cookie, timeout=10) for _ in range(POLLS)]
    assert answers == [200] * POLLS
    assert set(web_backends(server)).isdisjoint(backends)  # new connections answered
