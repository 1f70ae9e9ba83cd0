"""The scan_code command (its code lives with the scans)."""
from quality.scans.command import Command  # noqa: F401
