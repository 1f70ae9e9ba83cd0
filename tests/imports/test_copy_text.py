"""COPY text format: escapes, NULL versus empty text, and values that hold the batch's marker characters."""
from decimal import Decimal

import pytest

from imports.writers import copy_text


def test_escapes_and_nulls():
    rows = [("a\\b\tc\nd\re", None, Decimal("1.50"), 3, "")]

    assert copy_text(rows) == b"a\\\\b\\tc\\nd\\re\t\\N\t1.50\t3\t\n"


@pytest.mark.parametrize("marker", ["\x00", "\x01", "\x02"])
def test_values_holding_marker_characters_come_through(marker):
    rows = [(f"x{marker}y", None, "z"), ("plain", "", None)]

    assert copy_text(rows) == f"x{marker}y\t\\N\tz\nplain\t\t\\N\n".encode()


def test_empty_batch():
    assert copy_text([]) == b""


def test_text_is_utf8():
    assert copy_text([("Crème brûlée", "€")]) == "Crème brûlée\t€\n".encode()
