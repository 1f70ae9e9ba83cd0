"""Shop exports as their documentation describes them, where a real file showed a gap.

Shopify: "Variant Inventory Tracker" (the 2024 header's "Inventory tracker") is "shopify" when
Shopify tracks the variant's stock and empty when it does not; a variant whose stock is not tracked
is always available, and the "Variant Inventory Qty" it still carries (often 0) counts nothing.
Both readers must agree.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from imports.products.derive import Col, TrackedQuantity

from .test_preset_export_quirks import import_with_both_readers
from .test_preset_options_discounts import _sql_agrees
from .test_presets import by_sku, counts, import_sample

pytestmark = pytest.mark.django_db

# A tracked variant, two untracked ones (a service, a print made to order), in the former header
# and in the header Shopify's admin exports since 2024.
SHOPIFY_UNTRACKED = (
    b"Handle,Title,Body (HTML),Vendor,Type,Published,Option1 Name,Option1 Value,Variant SKU,"
    b"Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price,Status\n"
    b"mug,Mug,<p>Stoneware.</p>,Atelier,Kitchen,true,Size,Small,MUG-S,shopify,4,deny,12.00,active\n"
    b"mug,,,,,,,Large,MUG-L,shopify,0,deny,14.00,\n"
    b"engraving,Engraving,,Atelier,Service,true,Title,Default Title,ENGRAVE,,0,deny,5.00,active\n"
    b"print,Print,,Atelier,Art,true,Size,A3,PRINT-A3,,7,deny,30.00,active\n"
)
SHOPIFY_UNTRACKED_2024 = (
    b"Title,URL handle,Description,Vendor,Type,Published on online store,Status,SKU,Option1 name,Option1 value,"
    b"Price,Inventory tracker,Inventory quantity,Continue selling when out of stock\n"
    b"Mug,mug,<p>Stoneware.</p>,Atelier,Kitchen,TRUE,Active,MUG-S,Size,Small,12.00,shopify,4,DENY\n"
    b",mug,,,,,,MUG-L,,Large,14.00,shopify,0,DENY\n"
    b"Engraving,engraving,,Atelier,Service,TRUE,Active,ENGRAVE,Title,Default Title,5.00,,0,DENY\n"
    b"Print,print,,Atelier,Art,TRUE,Active,PRINT-A3,Size,A3,30.00,,7,DENY\n"
)
UNTRACKED_STOCK = {
    "MUG-S": ("in_stock", 4),
    "MUG-L": ("out_of_stock", 0),  # tracked, none left
    "ENGRAVE": ("in_stock", None),  # not tracked: always available, no quantity
    "PRINT-A3": ("in_stock", None),
}


@pytest.mark.parametrize("content", [SHOPIFY_UNTRACKED, SHOPIFY_UNTRACKED_2024], ids=["former", "2024"])
def test_shopify_untracked_variant_has_no_quantity(run_import, content):
    job, shop = import_sample(run_import, content, "untracked")
    assert job.file_info["preset"] == "shopify"
    found = by_sku(shop)
    assert {sku: (p.availability, p.quantity) for sku, p in found.items()} == UNTRACKED_STOCK
    assert found["PRINT-A3"].price == Decimal("30.00")
    again = run_import(content, for_vendor=shop)
    assert counts(again) == (4, 0, 0, 4, 0, 0)


def test_tracked_quantity():
    expr = TrackedQuantity(Col(0), Col(1))
    rows = [["4", "shopify"], ["0", "shopify"], ["0", ""], ["7", ""], ["", "shopify"], ["", ""], ["-2", "shopify"]]
    assert [expr.py(row) for row in rows] == ["4", "0", "", "", "", "", "-2"]
    if connection.vendor == "postgresql":
        _sql_agrees(expr, rows)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "content", [SHOPIFY_UNTRACKED, SHOPIFY_UNTRACKED_2024],
    ids=["shopify-untracked", "shopify-untracked-2024"],
)
def test_staged_and_python_readers_agree(run_import, settings, content):
    import_with_both_readers(run_import, settings, content, "gap")
