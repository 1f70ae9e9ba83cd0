from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo spans every task-type app, so it is an app of its own (the domain app imports none)."""

    name = "wizamart.demo"
    label = "demo"
    verbose_name = "Demo"
