"""Real gunicorn with the project's gunicorn.conf.py: slow clients do not stop other requests."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from background_tasks.services import background_task_create
from tests.factories import StaffFactory
from tests.fixtures.celery_worker import database_url, redis_url, wait_until
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
SLOW_CLIENTS = 3
DRIP_EVERY = 5.0
# Generous: a status poll takes milliseconds; a server stopped by the slow clients takes a minute.
ANSWER_WITHIN = 3.0
NORMAL_REQUESTS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, *, cookie: str, timeout: float) -> int:
    """GET a path on loopback; return the status (raises TimeoutError when not answered in time)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py` on a free loopback port, with production settings."""

    def __init__(self, *, log_path: Path, extra_args: list[str], database_options: str = ""):
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "wizamart.settings",
            "DATABASE_URL": database_url(connection.settings_dict) + database_options,
            "REDIS_URL": redis_url(),
            "USE_CELERY": "true",
            "DEBUG": "false",
            # The session the test made is signed with this key.
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
        }
        argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}", *extra_args]
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            [*argv, "wizamart.wsgi:application"], cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def get(self, path: str, *, cookie: str, timeout: float) -> int:
        return http_get(self.port, path, cookie=cookie, timeout=timeout)

    def wait_ready(self):
        def answers():
            assert self.process.poll() is None, "gunicorn exited at start"
            try:
                return self.get("/admin/login/", cookie="", timeout=2) == 200
            except OSError:
                return False

        wait_until(answers, timeout=60, interval=0.2, what="gunicorn to answer")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class SlowClient(threading.Thread):
    """Sends a request's headers one byte every DRIP_EVERY seconds until told to stop (bounded)."""

    HEADERS = b"GET /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n\r\n"

    def __init__(self, port: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.stop_event = stop
        self.bytes_sent = 0
        self.dropped = False

    def run(self):
        try:
            for byte in self.HEADERS[:-1]:  # never the final byte: the request is never complete
                self.sock.sendall(bytes([byte]))
                self.bytes_sent += 1
                if self.stop_event.wait(DRIP_EVERY):
                    return
        except OSError:
            self.dropped = True
        finally:
            self.sock.close()


@pytest.fixture
def staff_cookie():
    user = StaffFactory()
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def job():
    return background_task_create(model=SubscriptionMaintenanceRun, triggered_by="manual:slow-clients")


@pytest.fixture
def start_gunicorn(tmp_path):
    servers = []

    def start(extra_args=()):
        server = Gunicorn(log_path=tmp_path / f"gunicorn-{len(servers)}.log", extra_args=list(extra_args))
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def slow_clients():
    stop = threading.Event()
    clients = []

    def open_on(port):
        for _ in range(SLOW_CLIENTS):
            client = SlowClient(port, stop)
            client.start()
            clients.append(client)
        time.sleep(1.0)  # every slow connection accepted and holding whatever reads it
        return clients

    yield open_on
    stop.set()
    for client in clients:
        client.join(timeout=10)


def poll_while_slow_clients_hold(server, *, cookie: str, job) -> list:
    """Ask for the job's status NORMAL_REQUESTS times; return each answer (status) or the error."""
    answers = []
    for _ in range(NORMAL_REQUESTS):
        try:
            answers.append(server.get(f"/api/v1/admin/background-tasks/{job.pk}", cookie=cookie, timeout=ANSWER_WITHIN))
        except OSError as exc:  # TimeoutError included: not answered within ANSWER_WITHIN
            answers.append(exc.__class__.__name__)
    return answers


def test_slow_clients_do_not_stop_the_production_server(start_gunicorn, slow_clients, staff_cookie, job):
    server = start_gunicorn()
    clients = slow_clients(server.port)

    answers = poll_while_slow_clients_hold(server, cookie=staff_cookie, job=job)

    assert answers == [200] * NORMAL_REQUESTS
    # The slow clients were still holding their connections all along.
    assert all(client.is_alive() and not client.dropped for client in clients)


def test_the_old_shape_of_three_sync_workers_is_stopped_by_them(start_gunicorn, slow_clients, staff_cookie, job):
    """The check above can fail: three sync workers, one request each, are all held by three slow clients."""
    server = start_gunicorn(["--worker-class", "sync", "--workers", "3", "--threads", "1"])
    clients = slow_clients(server.port)

    answers = poll_while_slow_clients_hold(server, cookie=staff_cookie, job=job)

    assert 200 not in answers
    assert all(client.is_alive() for client in clients)


class Nginx:
    """nginx with deploy/nginx/default.conf, pointed at a loopback gunicorn and a static folder."""

    def __init__(self, *, folder: Path, upstream_port: int, static_root: Path):
        self.port = free_port()
        conf = (REPO_ROOT / "deploy" / "nginx" / "default.conf").read_text()
        conf = conf.replace("listen 80 default_server;", f"listen 127.0.0.1:{self.port} default_server;")
        conf = conf.replace("server web:8000;", f"server 127.0.0.1:{upstream_port};")
        conf = conf.replace("alias /usr/share/nginx/static/;", f"alias {static_root}/;")
        (folder / "default.conf").write_text(conf)
        temp_paths = "\n".join(f"  {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (folder / "nginx.conf").write_text(
            f"user root;\ndaemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
            f"events {{}}\nhttp {{\n  include /etc/nginx/mime.types;\n  access_log off;\n{temp_paths}\n"
            f"  include {folder}/default.conf;\n}}\n"
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")], start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=30, interval=0.2, what="nginx to answer")

    def get(self, path: str, *, cookie: str, timeout: float) -> int:
        return http_get(self.port, path, cookie=cookie, timeout=timeout)

    def _answers(self) -> bool:
        try:
            return self.get("/static/background_tasks/tasks.js", cookie="", timeout=2) == 200
        except OSError:
            return False

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def nginx_in_front(tmp_path):
    import shutil

    if not shutil.which("nginx"):
        pytest.skip("nginx is not installed here (apt-get install nginx-light)")
    static_root = tmp_path / "static"
    (static_root / "background_tasks").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "background_tasks" / "static" / "background_tasks" / "tasks.js", static_root / "background_tasks")
    proxies = []

    def start(upstream_port: int) -> Nginx:
        folder = tmp_path / f"nginx-{len(proxies)}"
        folder.mkdir()
        proxies.append(Nginx(folder=folder, upstream_port=upstream_port, static_root=static_root))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.stop()


def test_the_proxy_alone_absorbs_slow_clients_and_serves_static_files(
    start_gunicorn, nginx_in_front, slow_clients, staff_cookie, job
):
    """nginx buffers whole requests: even the old three sync workers never see the slow clients."""
    server = start_gunicorn(["--worker-class", "sync", "--workers", "3", "--threads", "1"])
    proxy = nginx_in_front(server.port)
    clients = slow_clients(proxy.port)

    answers = poll_while_slow_clients_hold(proxy, cookie=staff_cookie, job=job)

    assert answers == [200] * NORMAL_REQUESTS
    assert all(client.is_alive() and not client.dropped for client in clients)
    static = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=ANSWER_WITHIN)
    static.request("GET", "/static/background_tasks/tasks.js")
    response = static.getresponse()
    assert response.status == 200
    assert response.read() == (REPO_ROOT / "background_tasks" / "static" / "background_tasks" / "tasks.js").read_bytes()
