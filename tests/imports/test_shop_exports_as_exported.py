"""Shop exports as the shops' back offices write them: the columns and values each format's own
documentation and source give, beyond the import templates.

- PrestaShop's product list export (Catalog > Products > Export, ``ProductController::exportAction``):
  "Product ID;Image;Name;Reference;Category;Price (tax excl.);Price (tax incl.);Quantity;Status;Position",
  its labels in the employee's language (French: "Nom", "Référence", "Catégorie", "Montant HT",
  "Montant TTC", "Quantité"), the price with tax formatted for that language ("1 234,50 €", digits
  grouped with a narrow no-break space, a no-break space before the symbol);
- PrestaShop's product fields EAN-13, UPC and ISBN, each a GTIN;
- Google Merchant Center's TSV/CSV feed, whose weight attribute is named ``shipping_weight``;
- an Atom entry whose ``<link>`` holds its address as text, as RSS writes it;
- Google's sale_price_effective_date ("start/end", ISO 8601): the sale price applies only while its
  period runs, in RSS as in a TSV feed;
- Magento 2's special price, a sale only below the price (its final price is the lower of the two);
- Magento 2's catalog export of a bundle: ``bundle_price_type`` ``dynamic`` (its price is the sum of
  the products chosen in it; the product's own price attribute is not used) or ``fixed``;
- Magento 2's stock columns (product data attributes reference; the Backorders setting of its inventory
  configuration): ``is_in_stock``, ``qty`` (written with four decimals), ``allow_backorders`` (0 No
  Backorders, 1 Allow Qty Below 0, 2 Allow Qty Below 0 and Notify Customer) and ``use_config_backorders``
  (1: the store's setting applies, the Use Config Settings box; 0 or blank: the product's own), ``manage_stock``
  and ``use_config_manage_stock`` alike (a stock not managed is not tracked);
- PrestaShop 1.7.7's import columns ``MPN`` beside ``Supplier reference #``.

The samples are written here from those descriptions. Both readers must agree.
"""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from background_tasks.status import TaskStatus
from imports.products.derive import Col, Flag, InEffect, LowerPrice, OnBackorder
from imports.products.presets import STOCK_FLAGS
from wizamart.marketplace.feed import parse_price

from .test_preset_export_quirks import import_with_both_readers
from .test_preset_options_discounts import _sql_agrees
from .test_presets import by_sku, counts, import_sample

pytestmark = pytest.mark.django_db

NNBSP, NBSP = "\u202f", "\u00a0"

PRESTASHOP_FR = (
    "\ufeffProduct ID;Image;Nom;Référence;Catégorie;Montant HT;Montant TTC;Quantité;État;Position\n"
    f"7;https://boutique.example.lu/img/p/7-small_default.jpg;Lampe de bureau;LAMP-01;Luminaires;1029.083333;1{NNBSP}234,90{NBSP}€;4;1;1\n"
    f"8;https://boutique.example.lu/img/p/8-small_default.jpg;Abat-jour;;Luminaires;20.750000;24,90{NBSP}€;0;1;2\n"
    f"9;https://boutique.example.lu/img/p/9-small_default.jpg;Ancienne lampe;LAMP-OLD;Luminaires;10.000000;12,00{NBSP}€;3;0;3\n"
).encode()

PRESTASHOP_EN = (
    "Product ID;Image;Name;Reference;Category;Price (tax excl.);Price (tax incl.);Quantity;Status;Position\n"
    "7;https://shop.example.com/img/p/7-small_default.jpg;Desk lamp;LAMP-01;Lighting;1029.083333;€1,234.90;4;1;1\n"
).encode()

# PrestaShop's import template: EAN13, UPC and (1.7) ISBN; the first a product has is its GTIN.
PRESTASHOP_BARCODES = (
    b"Product ID;Active (0/1);Name *;Price tax excluded;Reference #;EAN13;UPC;ISBN;Quantity\n"
    b"1;1;Both;10;BC-1;4006381333931;036000291452;;1\n"
    b"2;1;UPC only;10;BC-2;;036000291452;;1\n"
    b"3;1;ISBN only;10;BC-3;;;9780306406157;1\n"
    b"4;1;None;10;BC-4;;;;1\n"
)

GOOGLE_TSV = (
    b"id\ttitle\tdescription\tlink\tprice\tavailability\tshipping_weight\n"
    b"TSV-1\tRain jacket\tLight\thttps://shop.example.com/p/1\t89.00 USD\tin stock\t0.6 kg\n"
    b"TSV-2\tBoots\tWarm\thttps://shop.example.com/p/2\t120.00 USD\tout of stock\t3 lb\n"
)


ATOM_TEXT_LINK = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
  <title>Shop</title>
  <entry>
    <g:id>AT-1</g:id><title>Text link</title><link>https://shop.example.com/p/at-1</link><g:price>5.00 EUR</g:price>
  </entry>
  <entry>
    <g:id>AT-2</g:id><title>Href link</title><link href="https://shop.example.com/p/at-2"/><g:price>6.00 EUR</g:price>
  </entry>
  <entry>
    <g:id>AT-3</g:id><title>Self then text</title><link rel="self" href="https://shop.example.com/feed/at-3"/>
    <link>https://shop.example.com/p/at-3</link><g:price>7.00 EUR</g:price>
  </entry>
</feed>
"""


GOOGLE_SALES_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Shop</title>
<item><g:id>SALE-OVER</g:id><g:title>Sale over</g:title><g:price>40.00 EUR</g:price><g:sale_price>30.00 EUR</g:sale_price>
<g:sale_price_effective_date>2019-11-29T07:00:00+0200 / 2020-12-02T23:59:00+0200</g:sale_price_effective_date></item>
<item><g:id>SALE-ON</g:id><g:title>Sale on</g:title><g:price>40.00 EUR</g:price><g:sale_price>31.00 EUR</g:sale_price>
<g:sale_price_effective_date>2020-01-01T00:00-0800/2999-12-31T23:59-0800</g:sale_price_effective_date></item>
<item><g:id>SALE-LATER</g:id><g:title>Sale later</g:title><g:price>40.00 EUR</g:price><g:sale_price>32.00 EUR</g:sale_price>
<g:sale_price_effective_date>2999-01-01T00:00Z/2999-01-31T23:59Z</g:sale_price_effective_date></item>
<item><g:id>SALE-ALWAYS</g:id><g:title>No period</g:title><g:price>40.00 EUR</g:price><g:sale_price>33.00 EUR</g:sale_price></item>
</channel></rss>
"""

GOOGLE_SALES_TSV = (
    b"id\ttitle\tprice\tsale_price\tsale_price_effective_date\n"
    b"SALE-OVER\tSale over\t40.00 EUR\t30.00 EUR\t2019-11-29T07:00:00+0200 / 2020-12-02T23:59:00+0200\n"
    b"SALE-ON\tSale on\t40.00 EUR\t31.00 EUR\t2020-01-01T00:00-0800/2999-12-31T23:59-0800\n"
    b"SALE-LATER\tSale later\t40.00 EUR\t32.00 EUR\t2999-01-01T00:00Z/2999-01-31T23:59Z\n"
    b"SALE-ALWAYS\tNo period\t40.00 EUR\t33.00 EUR\t\n"
)
SALES = {"SALE-OVER": None, "SALE-ON": Decimal("31.00"), "SALE-LATER": None, "SALE-ALWAYS": Decimal("33.00")}


MAGENTO_SPECIAL = (
    b"sku,store_view_code,attribute_set_code,product_type,name,price,special_price,qty,is_in_stock\n"
    b"MS-SALE,,Default,simple,On sale,120.0000,99.0000,1.0000,1\n"
    b"MS-SAME,,Default,simple,Same price,120.0000,120.0000,1.0000,1\n"
    b"MS-ABOVE,,Default,simple,Special above,120.0000,130.0000,1.0000,1\n"
    b"MS-NONE,,Default,simple,No special,120.0000,,1.0000,1\n"
    b"MS-PLAIN,,Default,simple,Plain numbers,120,99.5,1,1\n"
    b"MS-BAD,,Default,simple,Bad special,120.0000,soon,1.0000,1\n"
)


MAGENTO_BUNDLES = (
    b"sku,store_view_code,attribute_set_code,product_type,name,price,qty,is_in_stock,bundle_price_type,bundle_values\n"
    b"MB-STRAP,,Default,simple,Strap,12.0000,5.0000,1,,\n"
    b"MB-MAT,,Default,simple,Mat,30.0000,2.0000,1,,\n"
    b'MB-DYN,,Default,bundle,Mat and strap,14.0000,0.0000,1,dynamic,"name=Set,type=select,required=1,sku=MB-MAT,price=0.0000"\n'
    b'MB-FIX,,Default,bundle,Mat kit,39.0000,0.0000,1,fixed,"name=Set,type=select,required=1,sku=MB-MAT,price=0.0000"\n'
)

# In stock with none left sells on backorder where the product allows it, not where the store's
# setting applies (use_config_backorders 1: the file does not say what it is; Magento's default is none).
MAGENTO_BACKORDERS = (
    b"sku,store_view_code,attribute_set_code,product_type,name,price,qty,out_of_stock_qty,allow_backorders,"
    b"use_config_backorders,is_in_stock,manage_stock,use_config_manage_stock\n"
    b"MBO-NOTIFY,,Default,simple,Notify,10.0000,0.0000,0.0000,2,0,1,1,1\n"
    b"MBO-BELOW,,Default,simple,Below zero,10.0000,-3.0000,0.0000,1,0,1,1,0\n"
    b"MBO-NONE,,Default,simple,No backorders,10.0000,0.0000,0.0000,0,0,1,1,1\n"
    b"MBO-CONFIG,,Default,simple,Store setting,10.0000,0.0000,0.0000,1,1,1,1,1\n"
    b"MBO-LEFT,,Default,simple,Some left,10.0000,5.0000,0.0000,1,0,1,1,1\n"
    b"MBO-OUT,,Default,simple,Out of stock,10.0000,0.0000,0.0000,1,0,0,1,1\n"
    b"MBO-BLANK,,Default,simple,Blank setting,10.0000,0,0.0000,2,,1,1,1\n"
    b"MBO-UNMANAGED,,Default,simple,Stock not managed,10.0000,0.0000,0.0000,1,0,1,0,0\n"
    b"MBO-STORE-MANAGES,,Default,simple,Store manages stock,10.0000,0.0000,0.0000,1,0,1,0,1\n"
)
BACKORDERS = {
    "MBO-NOTIFY": ("backorder", 0), "MBO-BELOW": ("backorder", -3), "MBO-NONE": ("in_stock", 0),
    "MBO-CONFIG": ("in_stock", 0), "MBO-LEFT": ("in_stock", 5), "MBO-OUT": ("out_of_stock", 0),
    "MBO-BLANK": ("backorder", 0), "MBO-UNMANAGED": ("in_stock", 0), "MBO-STORE-MANAGES": ("backorder", 0),
}

# PrestaShop 1.7.7's import template: an MPN of its own, else the supplier reference.
PRESTASHOP_MPN = (
    b"Product ID;Active (0/1);Name *;Price tax excluded;Reference #;Supplier reference #;MPN;Quantity\n"
    b"1;1;Both;10;MPN-1;SUP-1;MFR-1;1\n"
    b"2;1;Supplier only;10;MPN-2;SUP-2;;1\n"
    b"3;1;MPN only;10;MPN-3;;MFR-3;1\n"
    b"4;1;Neither;10;MPN-4;;;1\n"
)


@pytest.mark.parametrize(("text", "expected"), [
    (f"1{NNBSP}234,90{NBSP}€", (Decimal("1234.90"), "EUR")),
    (f"1{NBSP}234,90{NBSP}€", (Decimal("1234.90"), "EUR")),
    (f"24,90{NBSP}€", (Decimal("24.90"), "EUR")),
    (f"12{NNBSP}345{NNBSP}678,00 EUR", (Decimal("12345678.00"), "EUR")),
])
def test_prices_grouped_with_no_break_spaces(text, expected):
    assert parse_price(text) == expected


def test_prestashop_french_back_office_export(run_import):
    job, shop = import_sample(run_import, PRESTASHOP_FR, "presta-fr")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert job.file_info["preset"] == "prestashop"
    assert counts(job) == (2, 2, 0, 0, 0, 1)  # the product whose État is 0 is not for sale
    found = by_sku(shop)
    assert set(found) == {"LAMP-01", "8"}  # no reference: the product id
    lamp = found["LAMP-01"]
    assert (lamp.title, lamp.price, lamp.currency, lamp.quantity) == ("Lampe de bureau", Decimal("1234.90"), "EUR", 4)
    assert (lamp.product_type, lamp.availability) == ("Luminaires", "in_stock")
    assert lamp.image_link == "https://boutique.example.lu/img/p/7-small_default.jpg"
    shade = found["8"]
    assert (shade.price, shade.availability) == (Decimal("24.90"), "out_of_stock")


def test_prestashop_english_back_office_export(run_import):
    job, shop = import_sample(run_import, PRESTASHOP_EN, "presta-en")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert job.file_info["preset"] == "prestashop"
    lamp = by_sku(shop)["LAMP-01"]
    assert (lamp.price, lamp.quantity, lamp.product_type) == (Decimal("1234.90"), 4, "Lighting")


def test_prestashop_gtin_is_the_ean_else_the_upc_else_the_isbn(run_import):
    job, shop = import_sample(run_import, PRESTASHOP_BARCODES, "presta-gtin")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    gtins = {sku: p.gtin for sku, p in by_sku(shop).items()}
    assert gtins == {"BC-1": "4006381333931", "BC-2": "036000291452", "BC-3": "9780306406157", "BC-4": ""}


def test_google_tsv_shipping_weight_is_the_weight(run_import):
    job, shop = import_sample(run_import, GOOGLE_TSV, "google-tsv")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert {sku: p.weight for sku, p in by_sku(shop).items()} == {"TSV-1": "0.6 kg", "TSV-2": "3 lb"}
    # A feed with both columns: the field's own name wins over the alias.
    both = GOOGLE_TSV.replace(b"\tshipping_weight\n", b"\tshipping_weight\tweight\n").replace(b"kg\n", b"kg\t1 kg\n")
    again = run_import(both.replace(b"3 lb\n", b"3 lb\t2 kg\n"), for_vendor=shop)
    assert again.status == TaskStatus.COMPLETED, (again.error_message, again.rejected_sample)
    assert {sku: p.weight for sku, p in by_sku(shop).items()} == {"TSV-1": "1 kg", "TSV-2": "2 kg"}


def test_atom_link_written_as_text(run_import):
    job, shop = import_sample(run_import, ATOM_TEXT_LINK, "atom-link")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert {sku: p.link for sku, p in by_sku(shop).items()} == {
        "AT-1": "https://shop.example.com/p/at-1",
        "AT-2": "https://shop.example.com/p/at-2",
        "AT-3": "https://shop.example.com/p/at-3",  # a rel="self" link is the feed's, not the product's page
    }


@pytest.mark.parametrize("content", [GOOGLE_SALES_RSS, GOOGLE_SALES_TSV], ids=["rss", "tsv"])
def test_google_sale_price_applies_while_its_period_runs(run_import, content):
    job, shop = import_sample(run_import, content, "google-sales")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert {sku: p.sale_price for sku, p in by_sku(shop).items()} == SALES
    # A feed whose every sale has ended still carries sale prices: the stored ones go.
    ended = content.replace(b"2999-12-31", b"2020-12-31").replace(b"33.00 EUR", b"")
    if content is GOOGLE_SALES_RSS:
        ended = ended.replace(b"<g:sale_price></g:sale_price>", b"")
    again = run_import(ended, for_vendor=shop)
    assert again.status == TaskStatus.COMPLETED, (again.error_message, again.rejected_sample)
    assert {sku: p.sale_price for sku, p in by_sku(shop).items()} == dict.fromkeys(SALES)


def test_magento_special_price_is_a_sale_only_below_the_price(run_import):
    job, shop = import_sample(run_import, MAGENTO_SPECIAL, "mg-special")
    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert {sku: p.sale_price for sku, p in by_sku(shop).items()} == {
        "MS-SALE": Decimal("99.00"), "MS-SAME": None, "MS-ABOVE": None, "MS-NONE": None, "MS-PLAIN": Decimal("99.50"),
    }
    assert [(r["sku"], r["error"]) for r in job.rejected_sample] == [("MS-BAD", "sale_price: 'soon' is not a price like '19.99 EUR'")]


@pytest.mark.postgres
def test_lower_price_sql_matches_python():
    pairs = [("99", "120"), ("120", "120"), ("130", "120"), ("", "120"), ("99.5 EUR", "120.00 EUR"), ("119.99", "120"),
             ("120.01", "120"), ("0", "1")]
    _sql_agrees(LowerPrice(Col(0), Col(1)), [[special, price] for special, price in pairs])


def test_magento_bundle_of_dynamic_price_is_priced_by_its_parts(run_import):
    job, shop = import_sample(run_import, MAGENTO_BUNDLES, "mg-bundles")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert job.file_info["preset"] == "magento"
    assert {sku: p.price for sku, p in by_sku(shop).items()} == {
        "MB-STRAP": Decimal("12.00"), "MB-MAT": Decimal("30.00"), "MB-FIX": Decimal("39.00"),
    }
    assert job.rows_skipped == 1 and "dynamic price" in job.progress_message


@pytest.mark.postgres
def test_sale_period_sql_matches_python():
    periods = [
        "", "2020-01-01/2020-12-31", "2020-01-01T00:00Z/2999-12-31T23:59Z", " 2020-01-01T00:00Z / 2999-12-31 ",
        "2999-01-01T00:00Z/2999-01-31T23:59Z", "2026-06-15/2026-06-15", "2026-06-14/2026-06-15", "2026-06-16/2026-06-17",
        "2020-01-01", "/2999-01-01", "2020-01-01/", "2020-01-01/2999-01-01/x", "soon/later", "2020-1-1/2999-1-1",
        "2020-01-01T00:00:00+0200/2020-12-02T23:59:00+0200", "２０２０-01-01/2999-01-01",
    ]
    rows = [["30.00 EUR", period] for period in periods]
    _sql_agrees(InEffect(Col(0), Col(1), "2026-06-15"), rows)
    assert [InEffect(Col(0), Col(1), "2026-06-15").py(row) for row in rows[5:8]] == ["30.00 EUR", "30.00 EUR", ""]


def test_magento_in_stock_with_none_left_is_a_backorder_where_the_product_allows_it(run_import):
    job, shop = import_sample(run_import, MAGENTO_BACKORDERS, "mg-backorders")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert {sku: (p.availability, p.quantity) for sku, p in by_sku(shop).items()} == BACKORDERS
    assert job.column_mapping["allow_backorders"] == job.column_mapping["use_config_backorders"] == "availability"
    # Without the backorder columns, the stock flag is the availability, as before.
    plain = b"\n".join(b",".join(line.split(b",")[:8] + line.split(b",")[10:]) for line in MAGENTO_BACKORDERS.split(b"\n"))
    again = run_import(plain, for_vendor=shop)
    assert again.status == TaskStatus.COMPLETED, (again.error_message, again.rejected_sample)
    assert {p.availability for p in by_sku(shop).values()} == {"in_stock", "out_of_stock"}


@pytest.mark.postgres
def test_on_backorder_sql_matches_python():
    flags = ["1", "0", "yes", "In Stock", "in stock", ""]
    quantities = ["0", "0.0000", "-2", "-2.0000", "00", "1", "1.0000", "0.5", "-0.5", "-0.0000", "", "none", "+0", "-"]
    settings = ["0", "1", "2", "", "3", "yes"]
    rows = [[f, q, b, u] for f, q, b, u in itertools.product(flags, quantities, settings, ["0", "1", ""])]
    expr = OnBackorder(Flag(Col(0), STOCK_FLAGS), Col(1), Col(2), Col(3))
    _sql_agrees(expr, rows)
    _sql_agrees(OnBackorder(Flag(Col(0), STOCK_FLAGS), Col(1), Col(2)), rows)
    # With manage_stock and use_config_manage_stock: a stock nobody manages has no backorders.
    managed = [["1", q, b, u, m, c] for q, b, u, m, c in itertools.product(
        ["0", "-1.0000", "1"], ["1", "0"], ["0", "1", ""], ["0", "1", "", "yes"], ["0", "1", ""])]
    with_manage = OnBackorder(Flag(Col(0), STOCK_FLAGS), Col(1), Col(2), Col(3), manage=Col(4), use_config_manage=Col(5))
    _sql_agrees(with_manage, managed)
    _sql_agrees(OnBackorder(Flag(Col(0), STOCK_FLAGS), Col(1), Col(2), Col(3), manage=Col(4)), managed)
    assert [with_manage.py(["1", "0", "1", "0", m, c]) for m, c in (("1", "0"), ("0", "0"), ("0", "1"), ("", ""))] == [
        "backorder", "in stock", "backorder", "in stock",
    ]
    assert [expr.py(["1", q, "1", "0"]) for q in ("0.0000", "-2", "0.5", "-0.5", "1")] == [
        "backorder", "backorder", "in stock", "in stock", "in stock",
    ]
    assert [expr.py(["1", "0", b, u]) for b, u in (("2", ""), ("2", "1"), ("0", "0"))] == [
        "backorder", "in stock", "in stock",
    ]


def test_prestashop_empty_mpn_falls_back_to_the_supplier_reference(run_import):
    job, shop = import_sample(run_import, PRESTASHOP_MPN, "presta-mpn")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert job.file_info["preset"] == "prestashop"
    assert {sku: p.mpn for sku, p in by_sku(shop).items()} == {
        "MPN-1": "MFR-1", "MPN-2": "SUP-2", "MPN-3": "MFR-3", "MPN-4": "",
    }
    assert job.column_mapping["MPN"] == job.column_mapping["Supplier reference #"] == "mpn"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "content",
    [PRESTASHOP_FR, PRESTASHOP_EN, PRESTASHOP_BARCODES, GOOGLE_TSV, GOOGLE_SALES_TSV, MAGENTO_SPECIAL, MAGENTO_BUNDLES,
     MAGENTO_BACKORDERS, PRESTASHOP_MPN],
    ids=["prestashop-fr", "prestashop-en", "prestashop-barcodes", "google-tsv", "google-sales", "magento-special",
         "magento-bundles", "magento-backorders", "prestashop-mpn"],
)
def test_staged_and_python_readers_agree(run_import, settings, content):
    import_with_both_readers(run_import, settings, content, "agree")
