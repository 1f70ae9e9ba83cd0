"""Shop exports as shops write them, beyond the first samples: what each format's columns mean.

Each sample under feeds/ is modelled on its format's documentation: Shopify's stock tracking
(tracker, quantity, policy) and its product-level Google Shopping fields, a barcode kept as text
with an apostrophe, Magento's configurable and grouped products that carry a price, PrestaShop's
1.5/1.6 import template (one price column named for both, blank header cells, Windows line
endings) and its stock, products their shop does not sell (drafts, private or disabled
products and variations, the variations of a variable product not published, a draft's "-1" also as WooCommerce's exporter guards it: "'-1"), WooCommerce's weight in pounds written ".5" and its variations, which
take what they lack from their variable product (named by its SKU, or "id:<ID>" without one),
and the product identifiers Yoast WooCommerce SEO adds to WooCommerce's export (GTIN13 / EAN, MPN...);
Magento's admin product grid export, its " -" for an empty cell, its "€" prices and its stock by source.
Both readers must agree.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from exports.google import google_weight
from imports.products.derive import Blank, Col, Link, StockTotal, SymbolPrice, TrackedStock

from .test_preset_options_discounts import _sql_agrees
from .test_presets import assert_imports_and_reimports_unchanged, by_sku, counts, import_sample, sample
from .test_staged_parity import outcome, products

pytestmark = pytest.mark.django_db

EXPECTED = {
    # file: (preset, counts (total, created, updated, unchanged, rejected, skipped))
    "shopify_tracked_stock.csv": ("shopify", (5, 5, 0, 0, 0, 3)),
    "magento_configurable_priced.csv": ("magento", (3, 3, 0, 0, 0, 5)),
    "magento_grid_quantity.csv": ("magento_grid", (4, 4, 0, 0, 0, 1)),
    "prestashop_template_16.csv": ("prestashop", (3, 3, 0, 0, 0, 1)),
    "woocommerce_us_lbs.csv": ("woocommerce", (2, 2, 0, 0, 0, 0)),
    "woocommerce_variations.csv": ("woocommerce", (5, 5, 0, 0, 0, 4)),
    "woocommerce_guarded_cells.csv": ("woocommerce", (2, 2, 0, 0, 0, 4)),
    "woocommerce_identifiers.csv": ("woocommerce", (5, 5, 0, 0, 0, 0)),
    "woocommerce_unpublished_parents.csv": ("woocommerce", (2, 2, 0, 0, 0, 6)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_export_imports_and_reimports_unchanged(run_import, name):
    assert_imports_and_reimports_unchanged(run_import, name, *EXPECTED[name])


def test_shopify_tracked_stock_sets_availability(run_import):
    _, shop = import_sample(run_import, sample("shopify_tracked_stock.csv"), "lin")
    found = by_sku(shop)
    stock = {sku: (p.availability, p.quantity) for sku, p in found.items()}
    assert stock == {
        "LIN-S": ("in_stock", 3),
        "LIN-M": ("out_of_stock", 0),  # tracked, none left, policy "deny"
        "LIN-L": ("backorder", 0),  # policy "continue": still sold
        "LIN-XL": ("out_of_stock", -2),  # oversold
        # no tracker: Shopify does not count its stock, always available; the 0 it writes counts nothing
        "WRAP": ("in_stock", None),
    }  # the draft coat (its status on its first row only) is not for sale: both its variants skipped


def test_shopify_product_level_google_fields_reach_every_variant(run_import):
    _, shop = import_sample(run_import, sample("shopify_tracked_stock.csv"), "lin")
    small, medium = by_sku(shop)["LIN-S"], by_sku(shop)["LIN-M"]
    assert small.gtin == "04006381333931"  # "'04006381333931": the apostrophe kept the leading zero
    for variant in (small, medium):
        assert variant.condition == "refurbished"
        assert variant.google_product_category == "Apparel & Accessories > Clothing"
        assert variant.description == "<p>Washed linen.</p>\n<ul>\n<li>100% linen</li>\n</ul>"
        assert variant.additional_image_link == "https://cdn.example.lu/linen-2.jpg"
    assert (small.mpn, medium.mpn) == ("LIN-MPN-S", "")  # a variant's own part number is not inherited


def test_magento_configurable_and_grouped_rows_are_parents_even_with_a_price(run_import):
    job, shop = import_sample(run_import, sample("magento_configurable_priced.csv"), "mg")
    found = by_sku(shop)
    # A fixed-price bundle is sold as it is; a disabled product (product_online 2) is not.
    assert set(found) == {"MG-SHOE-42", "MG-SHOE-43", "MG-KIT"}
    shoe = found["MG-SHOE-42"]
    assert (shoe.title, shoe.price, shoe.sale_price, shoe.quantity) == ("Trail shoe 42", Decimal("120.00"), Decimal("99.00"), 4)
    assert shoe.additional_image_link == "https://shop.example.lu/media/shoe-42-b.jpg"
    assert found["MG-SHOE-43"].availability == "out_of_stock"
    assert "configurable or grouped product" in job.progress_message


def test_magento_grid_reads_sources_placeholders_and_parents(run_import):
    job, shop = import_sample(run_import, sample("magento_grid.csv"), "grid")
    found = by_sku(shop)
    # The configurable and grouped products are parents, the disabled shirt is not for sale;
    # a bundle with its own price is sold as it is. The grid's ID is never the key.
    assert set(found) == {"001340-100-45", "001340-100-46", "001340-100-47", "CADEAUBON-25", "GARDEROBE"}
    assert "configurable or grouped product" in job.progress_message
    shirt = found["001340-100-45"]
    assert (shirt.title, shirt.price, shirt.currency) == ("Venti lichtblauw ruit-45", Decimal("64.99"), "EUR")
    assert (shirt.quantity, shirt.availability) == (1, "in_stock")  # "Default Source: 1, Default Original: 0, ..."
    assert (shirt.gtin, shirt.color, shirt.size, shirt.image_link) == ("4051233090197", "Lichtblauw", "45", "")
    larger = found["001340-100-46"]
    assert (larger.quantity, larger.gtin) == (5, "")  # 2 + 0 + 3 in its sources; " -" is no barcode
    assert larger.image_link == "https://shop.example.nl/media/catalog/product/v/e/venti-46.jpg"
    assert (found["001340-100-47"].quantity, found["001340-100-47"].availability) == (0, "out_of_stock")
    card = found["CADEAUBON-25"]  # a virtual product in no source: its stock unknown, its image a path
    assert (card.quantity, card.availability, card.image_link, card.color) == (None, "in_stock", "", "")
    assert found["GARDEROBE"].price == Decimal("1064.99")


def test_magento_grid_with_one_quantity_column(run_import):
    _, shop = import_sample(run_import, sample("magento_grid_quantity.csv"), "tote", default_currency="CHF")
    found = by_sku(shop)
    assert set(found) == {"TOTE-NAT", "TOTE-BLK", "BAG-S", "TOTE-GUIDE"}  # the configurable bag is a parent
    stock = {sku: (p.quantity, p.availability) for sku, p in found.items()}
    assert stock == {
        "TOTE-NAT": (12, "in_stock"), "TOTE-BLK": (0, "out_of_stock"), "BAG-S": (3, "in_stock"),
        "TOTE-GUIDE": (None, "in_stock"),
    }
    prices = {sku: (p.price, p.currency) for sku, p in found.items()}
    assert prices == {  # the currency of its symbol, else the vendor's
        "TOTE-NAT": (Decimal("24.90"), "EUR"), "TOTE-BLK": (Decimal("24.90"), "CHF"),
        "BAG-S": (Decimal("39.00"), "EUR"), "TOTE-GUIDE": (Decimal("4.50"), "GBP"),
    }
    tote = found["TOTE-NAT"]
    assert (tote.gtin, tote.color, tote.size) == ("4006381333931", "Natural", "")
    assert tote.image_link == "https://tote.example.lu/media/catalog/product/t/o/tote.jpg"
    assert found["BAG-S"].size == "S"


@pytest.mark.postgres
def test_magento_grid_values_sql_matches_python():
    stocks = [
        "", "-", "4", "4.0000", "0.0000", "-2", "1.5", "007", "Default Source: 1, Default Original: 0, Supplier Stock: 0",
        "Default Source: 2,Supplier Stock: 3", "Default Stock: 1.5, B: 0.5", "Default Source: -3, B: 1", "Lager: 2",
        "Default Source: 1,", "Default Source: x", "Default Source: 1\nB: 2", "many", "1,5",
    ]
    rows = [[cell] for cell in stocks]
    total = StockTotal(Blank(Col(0)))
    _sql_agrees(total, rows)
    _sql_agrees(TrackedStock(total), rows)
    assert [total.py([cell]) for cell in stocks[:6]] == ["", "", "4", "4", "0", "-2"]
    assert total.py([stocks[8]]) == "1" and total.py([stocks[10]]) == "2" and total.py([stocks[11]]) == "-2"
    prices = ["€64.99", "€ 64.99", "$5", "£4.50", "€1,064.99", "64.99", "-", "", "EUR 5", "€64.999", "¥500"]
    price = SymbolPrice(Blank(Col(0)))
    _sql_agrees(price, [[cell] for cell in prices])
    assert [price.py([cell]) for cell in prices[:5]] == ["64.99 EUR", "€ 64.99", "5 USD", "4.50 GBP", "€1,064.99"]
    links = ["https://a.example/x.jpg", "HTTP://a.example/x.jpg", "/v/e/venti.jpg", "-", "", "ftp://a/x.jpg"]
    link = Link(Blank(Col(0)))
    _sql_agrees(link, [[cell] for cell in links])
    assert [link.py([cell]) for cell in links] == ["https://a.example/x.jpg", "HTTP://a.example/x.jpg", "", "", "", ""]


def test_prestashop_import_template_and_stock(run_import):
    _, shop = import_sample(run_import, sample("prestashop_template_16.csv"), "ps16")
    found = by_sku(shop)
    assert set(found) == {"PS-SAVON", "11", "PS-COFFRET"}  # no reference: the product's ID; PS-OLD is not active
    savon = found["PS-SAVON"]
    assert (savon.title, savon.price, savon.quantity, savon.availability) == (
        "Savon au lait d'ânesse", Decimal("6.50"), 30, "in_stock")
    assert (savon.gtin, savon.brand, savon.product_type) == ("3760001234567", "Savonnerie du Nord", "Cosmétiques")
    assert savon.description == "<p>Savon artisanal.</p>\n<p>100 g</p>"
    assert savon.additional_image_link == "https://presta.example.lu/img/11.jpg"
    bougie, coffret = found["11"], found["PS-COFFRET"]
    assert (bougie.price, bougie.availability, bougie.condition) == (Decimal("18.00"), "out_of_stock", "used")
    assert coffret.availability == "backorder"  # out of stock action 1: orders still taken


def test_woocommerce_weight_in_pounds_reads_as_google_reads_it(run_import):
    _, shop = import_sample(run_import, sample("woocommerce_us_lbs.csv"), "us")
    tea, pot = by_sku(shop)["US-TEA"], by_sku(shop)["US-POT"]
    assert (tea.weight, pot.weight) == ("0.5 lbs", "2 lbs")
    assert google_weight(tea.weight) == "0.5 lb"


def test_woocommerce_variations_take_what_they_lack_from_their_parent(run_import):
    job, shop = import_sample(run_import, sample("woocommerce_variations.csv"), "lux")
    found = by_sku(shop)
    # The draft scarf (Published -1) and the disabled L variation (0) are not for sale.
    assert set(found) == {"LUX-CAP", "LUX-TEE-S", "LUX-TEE-M", "61", "LUX-BAG-RED"}
    assert "not published" in job.progress_message
    small, medium = found["LUX-TEE-S"], found["LUX-TEE-M"]
    assert (small.title, small.price, small.quantity) == ("Organic tee - S", Decimal("29.00"), 4)
    assert small.description == "<p>Organic cotton,\nmade in Portugal.</p>"
    assert (small.product_type, small.brand, small.weight) == ("Clothing > Tees", "Lux Wear", "0.3 kg")
    assert small.image_link == "https://shop.example.lu/img/tee.jpg"
    assert small.additional_image_link == "https://shop.example.lu/img/tee-back.jpg"
    # What a variation has of its own stays its own.
    assert (medium.description, medium.weight, medium.availability) == ("Medium: 52 cm chest.", "0.35 kg", "out_of_stock")
    assert (medium.image_link, medium.additional_image_link) == ("https://shop.example.lu/img/tee-m.jpg", "")
    assert (medium.price, medium.sale_price) == (Decimal("29.00"), Decimal("24.00"))
    socks = found["61"]  # its parent has no SKU: named "id:60"
    assert (socks.description, socks.product_type, socks.image_link) == (
        "Merino socks.", "Accessories > Socks", "https://shop.example.lu/img/socks.jpg")
    bag = found["LUX-BAG-RED"]  # its parent is not in the file: it has what it has
    assert (bag.title, bag.description, bag.image_link, bag.product_type) == ("Tote bag - Red", "", "", "")
    assert found["LUX-CAP"].product_type == "Accessories"


def test_woocommerce_values_its_exporter_guards_read_as_they_were(run_import):
    # WooCommerce's exporter puts an apostrophe before a value a spreadsheet would run as a
    # formula: a draft's "-1" comes as "'-1", a negative stock as "'-2".
    job, shop = import_sample(run_import, sample("woocommerce_guarded_cells.csv"), "grd")
    found = by_sku(shop)
    assert set(found) == {"GRD-OVERSOLD", "GRD-FORMULA"}  # the drafts and the private vase are not for sale
    assert "not published" in job.progress_message
    mug = found["GRD-OVERSOLD"]
    assert (mug.availability, mug.quantity, mug.price) == ("backorder", -2, Decimal("9.50"))
    assert found["GRD-FORMULA"].title == "=Bonus pack"


def test_woocommerce_variations_of_a_product_not_published_are_not_for_sale(run_import):
    _, shop = import_sample(run_import, sample("woocommerce_unpublished_parents.csv"), "unpub")
    found = by_sku(shop)
    # The private hoodie's (named "id:90") and the draft scarf's variations are published
    # themselves, but WooCommerce sells a variation only when its variable product is published.
    assert set(found) == {"UP-CAP-BLACK", "UP-MUG"}
    cap = found["UP-CAP-BLACK"]
    assert (cap.description, cap.color, cap.image_link) == ("Cotton cap.", "Black", "https://shop.example.lu/img/cap.jpg")


def test_woocommerce_identifier_columns_give_gtin_and_mpn(run_import):
    job, shop = import_sample(run_import, sample("woocommerce_identifiers.csv"), "ids")
    found = by_sku(shop)
    gtins = {sku: p.gtin for sku, p in found.items()}
    assert gtins == {
        "ID-CORE": "4006381333931",  # WooCommerce's own GTIN first
        "ID-EAN": "4012345678918",
        "ID-UPC": "012345678905",  # its leading zero kept
        "ID-ISBN": "9783161484100",
        "ID-NONE": "",
    }
    assert (found["ID-CORE"].mpn, found["ID-EAN"].mpn, found["ID-UPC"].mpn) == ("TT-100", "TP-200", "")
    assert job.column_mapping["MPN"] == "mpn"
    assert job.column_mapping["GTIN13 / EAN"] == "gtin"


def import_with_both_readers(run_import, settings, content: bytes, code: str):
    """Import ``content`` with the PostgreSQL reader, then the Python one; check they agree; return both."""
    settings.IMPORTS_USE_COPY = True
    results = []
    for in_database in (True, False):
        settings.IMPORTS_PARSE_IN_DATABASE = in_database
        results.append(import_sample(run_import, content, f"{code}-{in_database}"))
    (staged, staged_shop), (python, python_shop) = results
    assert staged.file_info["reader"] == "postgresql", staged.file_info
    assert (outcome(staged), counts(staged)) == (outcome(python), counts(python))
    assert products(staged_shop) == products(python_shop)
    return results


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_staged_and_python_readers_agree(run_import, settings, name):
    import_with_both_readers(run_import, settings, sample(name), "agree")


# A shop's own export that no preset knows (a back office's product grid, say) names its
# database's number "ID" and the product's reference "SKU": the generic reader keys on the SKU.
GENERIC_ID_AND_SKU = (
    b"ID,Name,SKU,Price,Quantity,Status\n"
    b"1841,Canvas tote,TOTE-NAT,24.90,12,Enabled\n"
    b"1842,Canvas tote black,TOTE-BLK,24.90,0,Enabled\n"
)


def test_a_generic_file_with_an_id_and_a_sku_is_keyed_on_the_sku(run_import):
    job, shop = import_sample(run_import, GENERIC_ID_AND_SKU, "grid")
    assert job.status == "completed", (job.status, job.error_message)
    assert job.file_info.get("preset") is None
    found = by_sku(shop)
    assert set(found) == {"TOTE-NAT", "TOTE-BLK"}
    assert found["TOTE-NAT"].title == "Canvas tote" and found["TOTE-NAT"].price == Decimal("24.90")
    assert job.column_mapping["SKU"] == "id" and job.column_mapping["ID"] == ""


@pytest.mark.postgres
def test_both_readers_key_a_generic_file_on_its_sku(run_import, settings):
    (_, staged_shop), _ = import_with_both_readers(run_import, settings, GENERIC_ID_AND_SKU, "grid")
    assert set(by_sku(staged_shop)) == {"TOTE-NAT", "TOTE-BLK"}
