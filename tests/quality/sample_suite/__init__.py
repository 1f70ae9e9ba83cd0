"""A small suite the test-run job runs in the tests: passing, failing, broken and slow tests."""
