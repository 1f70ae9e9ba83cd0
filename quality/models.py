"""The job models of the quality app, one package per task type."""
from .scans.models import ArchitectureScan, ArchitectureViolation  # noqa: F401
