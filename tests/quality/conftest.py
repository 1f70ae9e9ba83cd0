"""Fixtures of the test-run tests; the sample suite they run is not part of the project's suite."""
# The sample suite fails on purpose: only a test run that names it explicitly collects it.
collect_ignore = ["sample_suite"]
