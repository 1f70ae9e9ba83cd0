"""Discover every concrete BackgroundTask model through the app registry."""
from __future__ import annotations

from functools import cache

from django.apps import apps

from .conf import task_settings
from .models import BackgroundTask


@cache
def _task_models() -> dict[str, type[BackgroundTask]]:
    found: dict[str, type[BackgroundTask]] = {}
    for model in apps.get_models():
        if issubclass(model, BackgroundTask) and not model._meta.abstract:
            found.setdefault(model.task_type, model)
    return dict(sorted(found.items()))


def task_models() -> dict[str, type[BackgroundTask]]:
    """Return every job model by its task_type, in name order."""
    apps.check_models_ready()
    return _task_models()


def task_types() -> list[str]:
    """Return every known task_type."""
    return list(task_models())


def task_type_choices() -> list[tuple[str, str]]:
    """Return (task_type, label) pairs for forms and filters."""
    return [(t, m._meta.verbose_name.capitalize()) for t, m in task_models().items()]


def get_task_model(task_type: str) -> type[BackgroundTask] | None:
    """Return the job model of a task_type, or None when there is none."""
    return task_models().get(task_type)


def celery_task_name(task_type: str) -> str:
    """Return the Celery task name that runs jobs of a task_type (TASK_NAME_PREFIX + task_type)."""
    return f"{task_settings.TASK_NAME_PREFIX}{task_type}"
