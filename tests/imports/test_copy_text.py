"""COPY text format: escapes, NULL versus empty text, and values that hold the batch's marker characters."""
from decimal import Decimal

import pytest

from imports.products.writers import RowCopier, sku_copy_text

FIELDS = ("sku", "title", "price", "currency", "sale_price", "brand", "quantity")


def test_escapes_and_nulls():
    rows = [("a\\b\tc\nd\re", "", Decimal("1.50"), "EUR", None, "", 3)]

    assert RowCopier(FIELDS)(rows) == b"a\\\\b\\tc\\nd\\re\t\tEUR\t\t1.50\t\\N\t3\n"


@pytest.mark.parametrize("marker", ["\x00", "\x01", "\x02"])
def test_values_holding_marker_characters_come_through(marker):
    rows = [(f"x{marker}y", "", Decimal("1"), "EUR", None, "z", None), ("plain", "", Decimal("2"), "EUR", None, "", 4)]

    assert RowCopier(FIELDS)(rows) == f"x{marker}y\t\tEUR\tz\t1\t\\N\t\\N\nplain\t\tEUR\t\t2\t\\N\t4\n".encode()


def test_empty_batch():
    assert RowCopier(FIELDS)([]) == b""


def test_text_is_utf8():
    assert RowCopier(FIELDS)([("Crème brûlée", "€", Decimal("1"), "EUR", None, "", None)]) == (
        "Crème brûlée\t€\tEUR\t\t1\t\\N\t\\N\n".encode()
    )


@pytest.mark.parametrize("marker", ["", "\x00", "\x01", "\x02", "\t\\\n"])
def test_row_copier_writes_text_columns_then_numbers(marker):
    rows = [
        (f"a{marker}1", "Crème", Decimal("19.99"), "EUR", None, "", 3),
        ("a2", "Title\tx", Decimal("5"), "USD", Decimal("4.50"), f"b{marker}", None),
    ]
    copier = RowCopier(FIELDS)

    assert copier.columns == ("sku", "title", "currency", "brand", "price", "sale_price", "quantity")
    first, second, end = copier(rows).split(b"\n")
    assert first == f"a{marker}1\tCrème\tEUR\t\t19.99\t\\N\t3".encode().replace(marker.encode(), _escaped(marker))
    assert second == f"a2\tTitle\\tx\tUSD\tb{marker}\t5\t4.50\t\\N".encode().replace(
        marker.encode(), _escaped(marker)
    )
    assert end == b""
    assert copier([]) == b""


def _escaped(text: str) -> bytes:
    return text.encode().replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


@pytest.mark.parametrize("marker", ["", "\x00", "\x01", "\x02"])
def test_sku_copy_text_escapes_each_sku_on_its_line(marker):
    skus = ["A-1", f"B{marker}2", "C\t3\\", "Crème"]

    assert sku_copy_text(skus) == f"A-1\nB{marker}2\nC\\t3\\\\\nCrème\n".encode()
    assert sku_copy_text([]) == b""
