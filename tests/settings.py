"""Settings of the test suite: the project's, plus the test-only job app."""
from pathlib import Path

from wizamart.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The live server and the in-process pool threads share the test database: a file, not memory.
    _name = Path(DATABASES["default"]["NAME"])  # noqa: F405
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", str(_name.with_name(f"test_{_name.name}")))  # noqa: F405
