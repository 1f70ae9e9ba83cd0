"""Flower as the admin's monitor: a real Flower (basic auth) on the test broker follows a real worker's job."""
from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

import httpx
import pytest

from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from tests.factories import ProductFactory, VendorFactory
from tests.fixtures.celery_worker import CELERY_BIN, CeleryWorker, celery_env, compose_worker_args, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

WAIT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Flower(CeleryWorker):
    """`celery flower` with basic auth on a free loopback port, as compose runs it (there on 5555)."""

    # Logged once its event receiver is connected to the broker: from then on it hears every task.
    ready_marker = "Connected to redis"

    def __init__(self, *, db_url: str, log_path: Path, password: str):
        self.name = "flower"
        self.log_path = log_path
        self.password = password
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [
            str(CELERY_BIN), "-A", "wizamart", "flower",
            "--address=127.0.0.1", f"--port={self.port}", f"--basic-auth=admin:{password}",
        ]
        self.env = celery_env(db_url)
        self.process = None


@pytest.fixture
def flower(celery_worker_db_url, celery_settings, transactional_db, tmp_path):
    process = Flower(db_url=celery_worker_db_url, log_path=tmp_path / "flower.log", password=uuid.uuid4().hex)
    process.start()
    yield process
    process.stop()


def test_flower_shows_the_job_its_admin_link_points_to(flower, celery_worker_factory, staff_client, settings):
    auth = ("admin", flower.password)
    # The worker as compose starts it: task events come from the settings, not from a -E flag.
    worker = celery_worker_factory(worker_args=compose_worker_args("worker-default"))
    assert "-E" not in worker.argv and settings.CELERY_WORKER_SEND_TASK_EVENTS and settings.CELERY_TASK_SEND_SENT_EVENT
    settings.FLOWER_URL = flower.url + "/"
    ProductFactory(vendor=VendorFactory(code="flower-vendor"))

    response = staff_client.post("/api/v1/exports/products", {}, format="json")
    assert response.status_code == 202, response.content
    job = ProductExportJob.objects.get(pk=response.json()["job_id"])
    wait_until(lambda: job.refresh_from_db() or job.is_terminal(), timeout=WAIT, what="the export to finish")
    assert job.status == TaskStatus.COMPLETED, job.error_message

    with httpx.Client(base_url=flower.url, timeout=10) as http:
        # Flower heard the task's events: the one the test process sent it with, then the worker's.
        info = wait_until(
            lambda: (answer := http.get(f"/api/task/info/{job.celery_task_id}", auth=auth)).status_code == 200
            and answer.json().get("state") == "SUCCESS"
            and answer.json(),
            timeout=WAIT,
            what="Flower to know the finished task",
        )
        assert info["uuid"] == job.celery_task_id
        assert info["name"] == "wizamart.product_export"
        assert info["worker"] == worker.hostname
        assert info["routing_key"] == ProductExportJob.queue
        assert job.celery_task_id in http.get("/api/tasks", auth=auth).json()

        assert http.get(f"/api/task/info/{job.celery_task_id}").status_code == 401
        assert http.get("/api/tasks").status_code == 401
        assert http.get("/api/tasks", auth=("admin", "wrong")).status_code == 401
        assert http.get(f"/task/{job.celery_task_id}").status_code == 401
        # Compose's healthcheck asks this page without the password.
        assert http.get("/healthcheck").status_code == 200

        # The admin's Flower link of the job is that task's page, which Flower serves behind its password.
        page = staff_client.get("/admin/background_tasks/unifiedtask/")
        assert page.status_code == 200
        links = re.findall(r'href="([^"]+)"[^>]*>Flower</a>', page.content.decode())
        assert links == [f"{flower.url}/task/{job.celery_task_id}"]
        task_page = http.get(links[0], auth=auth)
        assert task_page.status_code == 200
        assert job.celery_task_id in task_page.text and "wizamart.product_export" in task_page.text
