"""Part of the sample suite."""
