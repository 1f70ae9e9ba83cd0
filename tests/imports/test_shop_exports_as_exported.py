"""Shop exports as the shops' back offices write them: the columns and values each format's own
documentation and source give, beyond the import templates.

- prices formatted for a language: "1 234,50 €", digits grouped with a narrow no-break space and a
  no-break space before the symbol (French, as PrestaShop's back office writes a price with tax).

The samples are written here from those descriptions.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from wizamart.marketplace.feed import parse_price

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(("text", "expected"), [
    (f"1{NNBSP}234,90{NBSP}€", (Decimal("1234.90"), "EUR")),
    (f"1{NBSP}234,90{NBSP}€", (Decimal("1234.90"), "EUR")),
    (f"24,90{NBSP}€", (Decimal("24.90"), "EUR")),
    (f"12{NNBSP}345{NNBSP}678,00 EUR", (Decimal("12345678.00"), "EUR")),
])
def test_prices_grouped_with_no_break_spaces(text, expected):
    assert parse_price(text) == expected
