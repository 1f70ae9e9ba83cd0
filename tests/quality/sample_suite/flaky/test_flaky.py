"""A test that flips: it fails, then passes, then fails... (a marker file in the temp folder remembers)."""
import tempfile
from pathlib import Path

MARKER = Path(tempfile.gettempdir()) / "wizamart-sample-suite-flip"


def test_steady():
    assert True


def test_flips():
    if MARKER.exists():
        MARKER.unlink()
        return
    MARKER.touch()
    raise AssertionError("failed this time; the next run passes")
