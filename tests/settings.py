"""Settings for the test suite and benchmarks: the project's settings plus the test-only job app."""
from wizamart.settings import *  # noqa: F403
from wizamart.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
