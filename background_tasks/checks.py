"""System checks that keep every job model inside the contract."""
from django.apps import apps
from django.core import checks

from .models import BackgroundTask


@checks.register()
def check_task_models(app_configs=None, **kwargs):
    errors = []
    seen: dict[str, str] = {}
    for model in apps.get_models():
        if not issubclass(model, BackgroundTask) or model._meta.abstract:
            continue
        label = model._meta.label
        if not model.task_type:
            errors.append(checks.Error(f"{label} declares no task_type.", id="background_tasks.E001"))
        elif model.task_type in seen:
            errors.append(
                checks.Error(
                    f"{label} and {seen[model.task_type]} both declare task_type {model.task_type!r}.",
                    id="background_tasks.E002",
                )
            )
        seen[model.task_type] = label
        if model.execute is BackgroundTask.execute:
            errors.append(checks.Error(f"{label} does not implement execute().", id="background_tasks.E003"))
    return errors
