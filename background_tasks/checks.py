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


@checks.register()
def check_visibility_timeout(app_configs=None, **kwargs):
    """Warn when Redis would deliver a message again while its job may still run inside its time limit."""
    from .conf import use_celery
    from .dispatch import celery_app

    if not use_celery():
        return []
    conf = celery_app().conf
    visibility = (conf.broker_transport_options or {}).get("visibility_timeout")
    limit = conf.task_time_limit
    if visibility and limit and visibility <= limit:
        return [
            checks.Warning(
                f"The broker's visibility timeout ({visibility}s) is not above the task time limit ({limit}s).",
                hint="A job still running is then delivered again: the copy loses the claim, but a worker slot "
                "waits on it. Raise BROKER_VISIBILITY_TIMEOUT above LONGEST_JOB_SECONDS.",
                id="background_tasks.W001",
            )
        ]
    return []


@checks.register()
def check_retention(app_configs=None, **kwargs):
    """BACKGROUND_TASKS["RETENTION"]: numbers of days (or None) per task type, for task types that exist."""
    from .conf import task_settings
    from .registry import task_types
    from .retention import retention_problems

    errors = [checks.Error(problem, id="background_tasks.E004") for problem in retention_problems()]
    known = {"default", *task_types()}
    configured = task_settings.RETENTION
    for name in configured if isinstance(configured, dict) else ():
        if name not in known:
            errors.append(
                checks.Warning(
                    f'BACKGROUND_TASKS["RETENTION"] names {name!r}, which is no task type.',
                    hint=f"Known task types: {', '.join(sorted(known))}.",
                    id="background_tasks.W002",
                )
            )
    return errors

