"""A test-only app with a configurable job: slow, failing or warning on demand."""
