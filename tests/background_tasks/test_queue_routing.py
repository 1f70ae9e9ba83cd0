"""Queue routing with one real worker per queue, started as docker-compose.yml starts them.

The long_running worker can be kept busy (tests.testapp.hold: its jobs wait at their progress
reports while a file exists); meanwhile an export still runs on `default`, and scheduled starts,
from beat or from the API, run on `scheduled`.
"""
from __future__ import annotations

import importlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from imports.models import MarketplaceImportJob
from tests.factories import ProductFactory, VendorFactory
from tests.fixtures.celery_worker import compose_worker_args, wait_until
from tests.testapp.hold import HOLD_ENV
from wizamart.celery import app
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

WORKER_SERVICES = {"default": "worker-default", "long_running": "worker-long-running", "scheduled": "worker-scheduled"}
# Generous: five Celery processes, PostgreSQL and the test share a small machine.
WAIT = 90


def concurrency(args: list[str]) -> int:
    return int(args[args.index("--concurrency") + 1])


@pytest.fixture
def hold_file(tmp_path):
    """While this file exists, jobs on the long_running worker wait at their progress reports."""
    path = tmp_path / "hold-long-running"
    path.touch()
    yield path
    path.unlink(missing_ok=True)  # before the workers stop: held jobs end and the warm shutdown is quick


@pytest.fixture
def compose_workers(celery_worker_factory, hold_file, tmp_path):
    """One worker per queue with compose's options; {queue: worker}."""
    storage = {"PRIVATE_STORAGE_ROOT": str(tmp_path / "private")}
    workers = {}
    for queue, service in WORKER_SERVICES.items():
        hold = {HOLD_ENV: str(hold_file)} if queue == "long_running" else {}
        workers[queue] = celery_worker_factory(worker_args=compose_worker_args(service), **storage, **hold)
    return workers


def start_import(client, vendor, number: int) -> MarketplaceImportJob:
    feed = f"id,title,price,quantity,availability\nQ-{number},Article {number},9.50 EUR,3,in stock\n"
    upload = SimpleUploadedFile(f"feed-{number}.csv", feed.encode())
    response = client.post("/api/v1/imports/products", {"vendor": vendor.code, "file": upload}, format="multipart")
    assert response.status_code == 202, response.content
    return MarketplaceImportJob.objects.get(pk=response.json()["job_id"])


def refreshed(job):
    job.refresh_from_db()
    return job


def result_of(job) -> TaskResult:
    return wait_until(lambda: TaskResult.objects.filter(task_id=job.celery_task_id).first(), timeout=WAIT, what=f"the result of {job}")


def test_compose_runs_one_queue_per_worker_and_prefetch_one_on_long_running():
    queues = {queue: compose_worker_args(service) for queue, service in WORKER_SERVICES.items()}

    assert {queue: args[args.index("-Q") + 1] for queue, args in queues.items()} == {q: q for q in WORKER_SERVICES}
    assert {"--prefetch-multiplier", "1", "--disable-prefetch"} <= set(queues["long_running"])


def test_an_export_starts_on_default_while_long_running_is_full_of_imports(compose_workers, staff_client, hold_file):
    long_running, default = compose_workers["long_running"], compose_workers["default"]
    vendor = VendorFactory(code="routing-vendor")
    ProductFactory(vendor=vendor, sku="R-1")
    slots = concurrency(compose_worker_args(WORKER_SERVICES["long_running"]))

    # Given every long_running process busy with an import that cannot finish yet,
    imports = [start_import(staff_client, vendor, n) for n in range(slots)]
    wait_until(lambda: all(refreshed(job).status == TaskStatus.RUNNING for job in imports), timeout=WAIT, what="the imports to run")
    waiting = start_import(staff_client, vendor, slots)

    # when an export is triggered,
    response = staff_client.post("/api/v1/exports/products", {}, format="json")
    assert response.status_code == 202, response.content
    export = ProductExportJob.objects.get(pk=response.json()["job_id"])

    # then it starts while the imports still run and the next import still waits for a process.
    wait_until(lambda: refreshed(export).started_at is not None, timeout=WAIT, what="the export to start")
    assert [refreshed(job).status for job in imports] == [TaskStatus.RUNNING] * slots
    assert all(job.completed_at is None for job in imports)
    assert (refreshed(waiting).status, waiting.started_at) == (TaskStatus.PENDING, None)
    active = wait_until(lambda: app.control.inspect([long_running.hostname], timeout=5).active(), what="the worker's tasks")
    assert {task["id"] for task in active[long_running.hostname]} == {job.celery_task_id for job in imports}
    assert all(task["delivery_info"]["routing_key"] == "long_running" for task in active[long_running.hostname])

    hold_file.unlink()
    jobs = [*imports, waiting, export]
    wait_until(lambda: all(refreshed(job).is_terminal() for job in jobs), timeout=WAIT, what="every job to finish")
    assert {job.status for job in jobs} == {TaskStatus.COMPLETED}, [job.error_message for job in jobs]
    assert result_of(export).worker == default.hostname
    assert {result_of(job).worker for job in [*imports, waiting]} == {long_running.hostname}


def deployed_schedule(migration: str):
    """Create a schedule exactly as its data migration does (the test database was flushed since)."""
    from django.apps import apps

    module = importlib.import_module(migration)
    module.create_schedule(apps, None)
    return PeriodicTask.objects.get(name=module.TASK_NAME)


def test_scheduled_starts_land_on_the_scheduled_worker(compose_workers, celery_beat_factory, staff_client):
    scheduled, default = compose_workers["scheduled"], compose_workers["default"]
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    # The deployed daily schedule, made due every second (as an admin could edit it).
    daily = deployed_schedule("wizamart.marketplace.migrations.0002_subscription_maintenance_schedule")
    PeriodicTask.objects.filter(pk=daily.pk).update(crontab=None, interval=every_second)
    # A schedule added in the admin without a queue: routed by its task type.
    added = PeriodicTask.objects.create(
        name="Maintenance added in the admin",
        task="background_tasks.run_scheduled",
        interval=every_second,
        kwargs=json.dumps({"task_type": SubscriptionMaintenanceRun.task_type}),
    )
    assert daily.queue == "scheduled" and added.queue is None

    beat = celery_beat_factory(BACKGROUND_TASKS_SWEEP_INTERVAL="1")
    runs = SubscriptionMaintenanceRun.objects.filter(triggered_by="scheduled")
    wait_until(
        lambda: {daily.name, added.name} <= set(runs.filter(status=TaskStatus.COMPLETED).values_list("schedule", flat=True)),
        timeout=WAIT,
        what="a completed run of each schedule",
    )
    # The sweep beat sends goes to `default`.
    wait_until(lambda: "Task background_tasks.sweep[" in default.log(), timeout=WAIT, what="the sweep on default")
    beat.stop()
    response = staff_client.post("/api/v1/marketplace/subscription-maintenance", format="json")
    assert response.status_code == 202, response.content
    from_api = SubscriptionMaintenanceRun.objects.get(pk=response.json()["job_id"])

    jobs = [*runs, from_api]
    wait_until(lambda: all(refreshed(job).is_terminal() for job in jobs), timeout=WAIT, what="every run to finish")
    assert {result_of(job).worker for job in jobs} == {scheduled.hostname}
    assert "Task background_tasks.sweep[" not in scheduled.log()
