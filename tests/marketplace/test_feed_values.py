"""Reading feed values: prices, quantities, availability and condition spellings."""
from decimal import Decimal

import pytest

from wizamart.marketplace.feed import (
    AVAILABILITY_SPELLINGS,
    FeedValueError,
    parse_availability,
    parse_condition,
    parse_price,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19.99 EUR", (Decimal("19.99"), "EUR")),
        ("19,99 EUR", (Decimal("19.99"), "EUR")),
        ("EUR 1.234,50", (Decimal("1234.50"), "EUR")),
        ("€5", (Decimal("5.00"), "EUR")),
        ("9999999999.99 EUR", (Decimal("9999999999.99"), "EUR")),
        ("0.005 EUR", (Decimal("0.01"), "EUR")),
    ],
)
def test_prices_that_read(text, expected):
    assert parse_price(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1 EUR", "negative price"),
        ("abc", "is not a price"),
        ("9999999999.995 EUR", "too large"),
        ("10000000000 EUR", "too large"),
        # More digits than a decimal context rounds: refused as too large, not a crash.
        ("9" * 200 + " EUR", "too large"),
        ("1" + "0" * 40 + ",5 EUR", "too large"),
    ],
)
def test_prices_that_do_not_read_name_the_reason(text, reason):
    with pytest.raises(FeedValueError, match=reason):
        parse_price(text)


def test_quantities():
    assert parse_quantity("12") == 12
    assert parse_quantity(" 007 ") == 7
    assert parse_quantity("12.0") == 12
    assert parse_quantity("") is None
    for text in ("abc", "1.5", "99999999999"):
        with pytest.raises(FeedValueError, match="whole number"):
            parse_quantity(text)


def test_availability_and_condition_spellings():
    assert parse_availability("In Stock") == "in_stock"
    assert parse_availability("OUT-OF-STOCK") == "out_of_stock"
    assert parse_availability("") == "in_stock"
    assert set(AVAILABILITY_SPELLINGS.values()) == {"in_stock", "out_of_stock", "preorder", "backorder"}
    assert parse_condition("Used") == "used"
    with pytest.raises(FeedValueError, match="unknown availability 'maybe'"):
        parse_availability("maybe")
    with pytest.raises(FeedValueError, match="unknown condition"):
        parse_condition("broken")
