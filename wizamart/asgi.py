"""ASGI entry point."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

application = get_asgi_application()

from django.conf import settings  # noqa: E402

if not settings.USE_CELERY:
    # In-process mode: re-run jobs this server lost at its last stop, then sweep periodically.
    from background_tasks.inprocess import start_janitor  # noqa: E402

    start_janitor()
