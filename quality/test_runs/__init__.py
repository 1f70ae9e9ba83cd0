"""The test_run task type: the project's pytest suite as a background job."""
