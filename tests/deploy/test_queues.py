"""Every task type and schedule goes to the queue the design names, and compose runs a worker for it."""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from background_tasks.celery_tasks import RUN_SCHEDULED
from background_tasks.registry import task_models
from wizamart.celery import app

REPO_ROOT = Path(__file__).resolve().parents[2]
# The design's table of task types (tests.testapp's job types are the suite's own).
DESIGN_QUEUES = {
    "product_import": "long_running",
    "order_import": "long_running",
    "product_export": "default",
    "test_run": "long_running",
    "code_quality_scan": "long_running",
    "subscription_maintenance": "scheduled",
    "retention_prune": "scheduled",
}


def compose_served_queues() -> dict[str, str]:
    """Return {queue: compose worker service} from each `celery worker -Q ...` command."""
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    served = {}
    for name, service in services.items():
        command = service.get("command")
        if isinstance(command, list) and "worker" in command and "-Q" in command:
            for queue in command[command.index("-Q") + 1].split(","):
                assert queue not in served, f"{queue} is served by {served.get(queue)} and {name}"
                served[queue] = name
    return served


def deployed_schedules() -> list[PeriodicTask]:
    """Create every schedule the data migrations create (as `migrate` does) plus the settings' ones."""
    for config in apps.get_app_configs():
        folder = Path(config.path) / "migrations"
        for path in sorted(folder.glob("0*.py")) if folder.is_dir() else []:
            module = importlib.import_module(f"{config.name}.migrations.{path.stem}")
            if hasattr(module, "create_schedule"):
                module.create_schedule(apps, None)
    return list(PeriodicTask.objects.all())


def project_task_queues() -> dict[str, str]:
    return {task_type: model.queue for task_type, model in task_models().items() if model._meta.app_label != "testapp"}


def test_each_task_type_has_the_designed_queue():
    assert project_task_queues() == DESIGN_QUEUES


def test_the_readme_and_the_deployment_doc_name_the_same_queues():
    readme = (REPO_ROOT / "README.md").read_text()
    documented = dict(re.findall(r"^\| `(\w+)` \| `[\w.]+` \| `(\w+)` \|", readme, re.M))
    deployment = (REPO_ROOT / "docs" / "deployment.md").read_text()
    by_queue = {
        queue: set(re.findall(r"`(\w+)`", types)) & set(DESIGN_QUEUES)
        for queue, types in re.findall(r"^\| `(\w+)` \| ([^|]+) \| `worker-", deployment, re.M)
    }

    assert documented == DESIGN_QUEUES
    assert by_queue == {queue: {t for t, q in DESIGN_QUEUES.items() if q == queue} for queue in set(DESIGN_QUEUES.values())}


def test_compose_serves_every_queue_with_a_worker_of_its_own():
    served = compose_served_queues()

    assert set(served) == set(DESIGN_QUEUES.values()) == {"default", "long_running", "scheduled"}
    assert served == {"default": "worker-default", "long_running": "worker-long-running", "scheduled": "worker-scheduled"}


def test_the_makefile_worker_serves_every_queue():
    makefile = (REPO_ROOT / "Makefile").read_text()
    queues = re.search(r"^celery-worker:.*\n\t.* worker -Q (\S+)", makefile, re.M).group(1)

    assert set(queues.split(",")) == set(compose_served_queues())


@pytest.mark.django_db
def test_every_schedule_lands_on_a_served_queue():
    served = compose_served_queues()
    schedules = deployed_schedules()
    assert {"Daily subscription maintenance", "Purge expired product exports"} <= {task.name for task in schedules}

    for task in schedules:
        route = app.amqp.router.route({"queue": task.queue} if task.queue else {}, task.task, kwargs=json.loads(task.kwargs))
        assert route["queue"].name in served, task.name
        if task.task == RUN_SCHEDULED:
            assert route["queue"].name == DESIGN_QUEUES[json.loads(task.kwargs)["task_type"]], task.name
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["options"]["queue"] in served, name


def test_a_scheduled_start_without_a_queue_goes_to_its_task_types_queue():
    route = app.amqp.router.route

    assert route({}, RUN_SCHEDULED, kwargs={"task_type": "subscription_maintenance"})["queue"].name == "scheduled"
    # A schedule that names a queue keeps it; anything unknown goes to the default queue.
    assert route({"queue": "long_running"}, RUN_SCHEDULED, kwargs={"task_type": "subscription_maintenance"})["queue"].name == "long_running"
    assert route({}, RUN_SCHEDULED, kwargs={"task_type": "no_such_type"})["queue"].name == "default"
    assert route({}, RUN_SCHEDULED, kwargs={"task_type": ["not", "a", "name"]})["queue"].name == "default"
    assert route({}, "background_tasks.sweep", kwargs={})["queue"].name == "default"
