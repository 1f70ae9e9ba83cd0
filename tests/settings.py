"""Settings for the test suite and benchmarks: the project's settings plus the test-only job app."""
from pathlib import Path

from wizamart.settings import *  # noqa: F403
from wizamart.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the shared in-memory database: the in-process pool's threads then see real
    # SQLite behaviour (WAL, busy timeout) instead of shared-cache table locks.
    _name = Path(DATABASES["default"]["NAME"])
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(_name.with_name(f"{_name.stem}-test.sqlite3"))
