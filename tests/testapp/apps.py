from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    verbose_name = "Test jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .hold import connect_hold

        connect_hold()
