"""Admin of the quality app: each task type registers its own pages."""
from .scans import admin as scans_admin  # noqa: F401
from .test_runs import admin as test_runs_admin  # noqa: F401
