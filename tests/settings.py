"""Settings of the test suite: the project's, plus the test-only job app."""
from wizamart.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
