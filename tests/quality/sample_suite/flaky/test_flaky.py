"""A test that flips: it fails, then passes, then fails... (a marker file in the temp folder remembers)."""
import hashlib
import os
import tempfile
from pathlib import Path

# One marker per database the runs use: suites on two databases at once do not flip each other's.
_DATABASE = hashlib.sha256(os.environ.get("DATABASE_URL", "").encode()).hexdigest()[:12]
MARKER = Path(tempfile.gettempdir()) / f"wizamart-sample-suite-flip-{_DATABASE}"


def test_steady():
    assert True


def test_flips():
    if MARKER.exists():
        MARKER.unlink()
        return
    MARKER.touch()
    raise AssertionError("failed this time; the next run passes")
