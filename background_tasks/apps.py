"""App configuration: wires the unified view and the per-type Celery tasks."""
from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class BackgroundTasksConfig(AppConfig):
    name = "background_tasks"
    verbose_name = "Background tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers system checks)
        from .celery_tasks import register_job_tasks
        from .unified_view import create_unified_view, drop_unified_view

        # The unified view depends on every job table: drop it before migrations touch them.
        pre_migrate.connect(drop_unified_view, sender=self, dispatch_uid="bg_drop_view")
        post_migrate.connect(create_unified_view, sender=self, dispatch_uid="bg_create_view")
        register_job_tasks()
