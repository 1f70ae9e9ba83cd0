"""Admin of the quality app: each task type registers its own pages."""
from .test_runs import admin as test_runs_admin  # noqa: F401
