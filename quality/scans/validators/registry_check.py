"""BG-004 asked of Django itself: every installed job model is the one the registry returns for its task_type."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.apps import apps
from django.conf import settings

from .base import Finding, SourceTree
from .index import ProjectIndex


def _where(index: ProjectIndex, model) -> tuple[str, int] | None:
    """Return the file and line of a model's class in the scanned tree (None when it lives elsewhere)."""
    info = index.classes.get(f"{model.__module__}.{model.__qualname__}")
    return (info.file, info.line) if info else None


def registry_findings(tree: SourceTree, index: ProjectIndex, rule: dict, *, project_root: Path | None = None) -> Iterator[Finding]:
    """Compare the app registry with the BackgroundTasksService, for the tree of the running project only."""
    if tree.root != Path(project_root or settings.BASE_DIR).resolve():
        return
    from background_tasks.models import BackgroundTask
    from background_tasks.registry import task_models

    registered = task_models()
    fields = set(rule.get("job_marker_fields") or ["celery_task_id"])
    for model in apps.get_models():
        where = _where(index, model)
        if where is None:
            continue
        if issubclass(model, BackgroundTask):
            if registered.get(model.task_type) is not model:
                yield tree.finding(rule, *where, f"{model.__name__} ({model.task_type!r}) is not what the registry returns for its task_type")
        elif model._meta.managed and fields & {f.name for f in model._meta.get_fields()}:
            yield tree.finding(rule, *where, f"{model.__name__} has job fields but is not a BackgroundTask: the registry cannot list it")
