"""Two machines sharing only the bucket: a web process and two Celery workers, each with its own empty local folder.

The web process (a live server) stores uploads and serves downloads; one worker runs the
`long_running` queue (imports), the other the `default` queue (exports). Each file is written by
one process and read by another, and no process ever writes to its local private folder.
"""
import json

import httpx
import pytest
from rest_framework.authtoken.models import Token

from background_tasks.status import TaskStatus
from imports.orders.letzshop.fake import FakeLetzshop, demo_sku
from tests.factories import ProductFactory, StaffFactory, VendorFactory
from tests.fixtures.celery_worker import CeleryWorker, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.timeout(240)]

FEED = "id,title,price,availability\nTM-1,Tasse,3 EUR,in stock\nTM-2,Bol,not a price,in stock\nTM-3,Plat,7 EUR,in stock\n"


@pytest.fixture
def machine_workers(celery_worker_factory, celery_worker_db_url, s3_bucket, tmp_path):
    """Start a worker on one queue, on its own "machine" (its own empty PRIVATE_STORAGE_ROOT)."""
    started: list[CeleryWorker] = []

    def start(queue: str) -> CeleryWorker:
        env = s3_bucket.env(tmp_path / f"{queue}-machine")
        worker = CeleryWorker(db_url=celery_worker_db_url, log_path=tmp_path / f"{queue}.log", extra_env=env)
        worker.argv[worker.argv.index("-Q") + 1] = queue
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def web(live_server, s3_bucket):
    """An HTTP client of the web process, as a staff user with a token."""
    token = Token.objects.create(user=StaffFactory())
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Token {token.key}"}, timeout=30) as client:
        yield client


def finished(web: httpx.Client, job_id: int) -> dict:
    def status():
        body = web.get(f"/api/v1/admin/background-tasks/{job_id}").json()
        return body if body["status"] in TaskStatus.terminal() else None

    return wait_until(status, timeout=120, interval=0.3, what=f"job #{job_id}")


def ran(worker: CeleryWorker, task_type: str) -> bool:
    return f"Task wizamart.{task_type}[" in worker.log()


def test_every_file_job_completes_with_only_the_bucket_shared(machine_workers, web, s3_bucket, settings, tmp_path):
    importer, exporter = machine_workers("long_running"), machine_workers("default")
    vendor = VendorFactory(code="maison-lux", letzshop_api_key="lsk-two-machines")
    for n in range(40):  # the skus the fake Letzshop's shipments sell
        ProductFactory(vendor=vendor, sku=demo_sku(vendor.code, n))
    letzshop = FakeLetzshop(vendors={vendor.code: "lsk-two-machines"}, shipments=6)
    shipments = [letzshop.node(vendor.code, index) for index in range(6)]

    # The web process stores the uploads; the long_running worker reads them from the bucket.
    feed = web.post("/api/v1/imports/products", data={"vendor": vendor.code}, files={"file": ("feed.csv", FEED.encode())})
    orders = web.post(
        "/api/v1/imports/orders",
        data={"vendor": vendor.code},
        files={"file": ("backfill.json", json.dumps({"nodes": shipments}).encode(), "application/json")},
    )
    assert (feed.status_code, orders.status_code) == (202, 202), (feed.text, orders.text)
    imported = finished(web, feed.json()["job_id"])
    assert imported["status"] == TaskStatus.COMPLETED_WITH_WARNINGS, imported["error_message"]
    ordered = finished(web, orders.json()["job_id"])
    assert ordered["status"] == TaskStatus.COMPLETED, (ordered["error_message"], ordered["details"])
    assert ordered["details"]["orders_created"] == 6

    # The worker's error report, served by the web process.
    report = web.get(f"/api/v1/imports/products/{imported['id']}/error-report")
    assert report.status_code == 200 and report.text.splitlines()[1].startswith("TM-2,Bol,not a price")

    # The default worker writes the export; the web process serves it.
    export = web.post("/api/v1/exports/products", json={"vendor": vendor.code})
    assert export.status_code == 202, export.text
    exported = finished(web, export.json()["job_id"])
    assert exported["status"] == TaskStatus.COMPLETED, exported["error_message"]
    download = web.get(f"/api/v1/exports/products/{exported['id']}/download")
    assert download.status_code == 200
    assert {"TM-1", "TM-3", demo_sku(vendor.code, 0)} <= {line.split(",", 1)[0] for line in download.text.splitlines()}

    # Each job ran on its machine; nothing was written to any local private folder.
    assert ran(importer, "product_import") and ran(importer, "order_import") and not ran(importer, "product_export")
    assert ran(exporter, "product_export") and not ran(exporter, "product_import") and not ran(exporter, "order_import")
    folders = {key.rsplit("/", 1)[0] for key in s3_bucket.keys()}
    assert folders == {"imports/feeds", "imports/error-reports", "imports/order-files", "exports"}
    for folder in (settings.PRIVATE_STORAGE_ROOT, tmp_path / "long_running-machine", tmp_path / "default-machine"):
        assert not folder.exists() or not any(folder.iterdir()), folder
