"""The job models of the quality app, one package per task type."""
from .scans.models import ArchitectureScan, ArchitectureViolation
from .test_runs.models import TestResult, TestRun

__all__ = ["ArchitectureScan", "ArchitectureViolation", "TestResult", "TestRun"]
