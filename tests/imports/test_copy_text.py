"""COPY text format: escapes, NULL versus empty text, and values that hold the batch's marker characters."""
from decimal import Decimal

import pytest

from imports.products.writers import RowCopier, copy_text, sku_copy_text


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


FIELDS = ("sku", "title", "price", "currency", "sale_price", "brand", "quantity")


@pytest.mark.parametrize("marker", ["", "\x00", "\x01", "\x02", "\t\\\n"])
def test_row_copier_writes_text_columns_then_numbers(marker):
    rows = [
        (f"a{marker}1", "Crème", Decimal("19.99"), "EUR", None, "", 3),
        ("a2", "Title\tx", Decimal("5"), "USD", Decimal("4.50"), f"b{marker}", None),
    ]
    copier = RowCopier(FIELDS)

    assert copier.columns == ("sku", "title", "currency", "brand", "price", "sale_price", "quantity")
    assert copier(rows) == copy_text([tuple(row[FIELDS.index(name)] for name in copier.columns) for row in rows])
    assert copier(rows).split(b"\n")[0] == f"a{marker}1\tCrème\tEUR\t\t19.99\t\\N\t3".encode().replace(
        marker.encode(), _escaped(marker)
    )
    assert copier([]) == b""


def _escaped(text: str) -> bytes:
    return text.encode().replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


@pytest.mark.parametrize("marker", ["", "\x00", "\x01", "\x02"])
def test_sku_copy_text_matches_copy_text(marker):
    skus = ["A-1", f"B{marker}2", "C\t3\\", "Crème"]

    assert sku_copy_text(skus) == copy_text([(sku,) for sku in skus])
    assert sku_copy_text([]) == b""
