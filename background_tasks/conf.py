"""Settings of the background-task machinery, with their defaults, and the settings object every app uses."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings


class AppSettings:
    """An app's settings with their defaults in one place, read at access time so tests can override them.

    Either flat settings with a prefix (``AppSettings(prefix="IMPORTS_", defaults={"BATCH_SIZE": 5000})``
    reads ``settings.IMPORTS_BATCH_SIZE``) or one dict setting (``AppSettings(container="BACKGROUND_TASKS",
    defaults=...)`` reads ``settings.BACKGROUND_TASKS["STALE_AFTER"]``). Unknown names raise AttributeError.
    """

    def __init__(self, *, defaults: Mapping[str, Any], prefix: str = "", container: str | None = None):
        self._defaults = dict(defaults)
        self._prefix = prefix
        self._container = container

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._defaults:
            raise AttributeError(f"Unknown setting {self._prefix}{name}")
        if self._container:
            return getattr(settings, self._container, {}).get(name, self._defaults[name])
        return getattr(settings, self._prefix + name, self._defaults[name])


DEFAULTS = {
    "INPROCESS_WORKERS": 2,
    "EAGER": False,
    "HEARTBEAT_INTERVAL": 10.0,
    "STALE_AFTER": 60.0,
    "MAX_ATTEMPTS": 3,
    "PROGRESS_INTERVAL": 1.0,
    "PUBLISH_GRACE": 10.0,
    "REPUBLISH_AFTER": 3600.0,
    # A job published this long ago whose message is neither in its queue nor held by a worker
    # is published again (the broker lost it); 0 turns the check off.
    "LOST_MESSAGE_AFTER": 60.0,
    "SWEEP_INTERVAL": 30.0,
    # How often every admin page asks for the unread notification count again.
    "UNREAD_POLL_SECONDS": 20,
    # The Celery task of a job type is named PREFIX + task_type; workers and beat rows use the name.
    "TASK_NAME_PREFIX": "background_tasks.",
    # USE_CELERY=false: the janitor runs the django-celery-beat schedules of the database itself,
    # looking at them at least this often (seconds), so edits in the admin take effect within it.
    "EMBEDDED_BEAT": True,
    "BEAT_MAX_INTERVAL": 5.0,
    # Retention, per task type ("default" for the others): finished job rows are deleted after
    # rows_days, their files (uploads, reports, exports) after files_days (the row says so).
    # None keeps them forever. The prune job deletes in batches of RETENTION_BATCH_SIZE ids.
    "RETENTION": {"default": {"rows_days": 90, "files_days": 30}},
    "RETENTION_BATCH_SIZE": 1000,
    # Celery workers add this to their niceness when they start (their pool processes inherit it):
    # on a machine they share with the web process, pages and status polls get the CPU first.
    "WORKER_NICENESS": 19,
    # An upload stored for a job not created yet (the product import's mapping screen) and not
    # taken by a job within this many hours is deleted by the prune (the screen's link expires too).
    "PENDING_UPLOAD_HOURS": 24,
}

task_settings = AppSettings(container="BACKGROUND_TASKS", defaults=DEFAULTS)


def use_celery() -> bool:
    """Whether jobs go to Celery (USE_CELERY) rather than the in-process pool."""
    return bool(getattr(settings, "USE_CELERY", False))
