"""Settings of the background-task machinery, with their defaults."""
from django.conf import settings

DEFAULTS = {
    "INPROCESS_WORKERS": 2,
    "EAGER": False,
    "HEARTBEAT_INTERVAL": 10.0,
    "STALE_AFTER": 60.0,
    "MAX_ATTEMPTS": 3,
    "PROGRESS_INTERVAL": 1.0,
    "PUBLISH_GRACE": 10.0,
    "REPUBLISH_AFTER": 3600.0,
    "SWEEP_INTERVAL": 30.0,
    "DEBUG_STEP_DELAY": 0.0,
}


def task_setting(name: str):
    """Return BACKGROUND_TASKS[name], read at call time so tests can override it."""
    return getattr(settings, "BACKGROUND_TASKS", {}).get(name, DEFAULTS[name])


def use_celery() -> bool:
    return bool(getattr(settings, "USE_CELERY", False))
