"""The job models of the quality app, one package per task type."""
from .test_runs.models import TestResult, TestRun

__all__ = ["TestResult", "TestRun"]
