"""CSV cells that a spreadsheet would run as a formula are neutralised; numbers are never altered."""
import csv
import io
from decimal import Decimal

import pytest

from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.feed import feed_cell, neutralise_cell, restore_cell

from .conftest import file_bytes

pytestmark = pytest.mark.django_db


def exported_row(run_export, **fields) -> dict[str, str]:
    vendor = VendorFactory()
    ProductFactory(vendor=vendor, sku=fields.pop("sku", "SKU-1"), **fields)
    rows = list(csv.DictReader(io.StringIO(file_bytes(run_export(vendor=vendor)).decode(), newline="")))
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://127.0.0.1/","x")', '\'=HYPERLINK("http://127.0.0.1/","x")'),
        ("+41 22 000", "'+41 22 000"),
        ("-10 % today", "'-10 % today"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'kept apostrophe", "''kept apostrophe"),
        ("Plain title", "Plain title"),
        ("a=b+c", "a=b+c"),
    ],
)
def test_text_cells_that_start_a_formula_are_prefixed(run_export, text, cell):
    row = exported_row(run_export, title=text, brand=text, sku="X" + text.strip()[:20])

    assert row["title"] == cell
    assert row["brand"] == cell
    assert restore_cell(row["title"]) == text


def test_sku_starting_with_a_formula_character_is_neutralised(run_export):
    assert exported_row(run_export, sku="=cmd|' /C calc'!A0")["id"] == "'=cmd|' /C calc'!A0"


def test_numeric_columns_are_written_exactly(run_export):
    row = exported_row(
        run_export, price=Decimal("0.10"), sale_price=Decimal("1234567.00"), quantity=-42, gtin="0000123456789"
    )

    assert row["price"] == "0.10 EUR"
    assert row["sale_price"] == "1234567.00 EUR"
    assert row["quantity"] == "-42"
    assert row["gtin"] == "0000123456789"


@pytest.mark.parametrize(
    ("price", "currency", "cell"),
    [
        (Decimal("-5.00"), "EUR", "-5.00 EUR"),
        (Decimal("-5.00"), "", "-5.00"),
        (Decimal("-5.00"), "E1", "'-5.00 E1"),
        (Decimal("5.00"), "E1", "5.00 E1"),
        (Decimal("5.00"), "=1", "5.00 =1"),
    ],
)
def test_a_price_is_neutralised_only_when_it_is_negative_and_not_a_number(run_export, price, currency, cell):
    row = exported_row(run_export, price=price, sale_price=price, currency=currency)

    assert row["price"] == row["sale_price"] == cell


def test_a_gtin_that_is_not_a_number_is_neutralised(run_export):
    assert exported_row(run_export, gtin="=1+2")["gtin"] == "'=1+2"


@pytest.mark.parametrize("text", ["", "'", "''", "=", "'=", "-", "x", "'x", "\t", "19.99 EUR"])
def test_neutralising_is_undone_exactly(text):
    assert restore_cell(neutralise_cell(text)) == text


@pytest.mark.parametrize(
    ("column", "value", "cell"),
    [
        ("quantity", "-5", "-5"),
        ("price", "19.99 EUR", "19.99 EUR"),
        ("gtin", "+49", "+49"),
        ("gtin", "-", "'-"),
        ("title", "-5", "'-5"),
    ],
)
def test_feed_cell_keeps_numbers_in_numeric_columns_only(column, value, cell):
    assert feed_cell(column, value) == cell
