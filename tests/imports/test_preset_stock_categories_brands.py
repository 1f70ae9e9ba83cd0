"""Shop exports as their documentation describes them, where a real file showed a gap.

Shopify: "Variant Inventory Tracker" (the 2024 header's "Inventory tracker") is "shopify" when
Shopify tracks the variant's stock and empty when it does not; a variant whose stock is not tracked
is always available, and the "Variant Inventory Qty" it still carries (often 0) counts nothing.
WooCommerce's exporter lists a product's categories in "Categories", each as its path from the top
("Clothing > T-shirts"), joined with ", " (a comma inside a name written "\\,"); a product in no
category is in the shop's default one, "Uncategorized" (fr "Non classé", de "Unkategorisiert").
Google's product_type is the shop's most specific path for the product. A shop without a brands
plugin keeps its brand in an attribute ("Attribute 1 name" "Brand", fr "Marque", de "Marke", nl "Merk",
or its slug "pa_brand" when imported from elsewhere), written as the colour and size attributes are.
Shopify's exports since 2024 carry the product category's metafields as columns named by a label in
the admin's language and the metafield's key, "Color (product.metafields.shopify.color-pattern)": on
the product's first row, the handles of its colour entries, several separated by "; ".
Both readers must agree.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from imports.products.derive import Col, DeepestPath, Relisted, TrackedQuantity

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


# A product in a category and its parent, one in two paths, one in the default category only, one
# in the default category and another; a category whose name holds a comma; a variation (its
# variable product's categories); French and German headers with their default category.
WOO_CATEGORIES = (
    b'ID,Type,SKU,Name,Published,"In stock?",Stock,"Regular price",Categories,Parent\n'
    b'1,simple,TEE,Tee,1,1,3,20,"Clothing, Clothing > T-shirts",\n'
    b'2,simple,SOCK,Sock,1,1,3,5,"Clothing > Socks, Sale > Clothing > Socks, Gifts > Under 10",\n'
    b"3,simple,PIN,Pin,1,1,3,2,Uncategorized,\n"
    b'4,simple,CAP,Cap,1,1,3,9,"Uncategorized, Hats",\n'
    b'5,simple,BAG,Bag,1,1,3,30,"Bags\\, Wallets, Bags\\, Wallets > Leather",\n'
    b"6,simple,MUG,Mug,1,1,3,12,Kitchen,\n"
    b'10,variable,HOOD,Hoodie,1,1,,,"Clothing, Clothing > Hoodies",\n'
    b"11,variation,HOOD-S,Hoodie - S,1,1,2,40,,HOOD\n"
)
WOO_CATEGORIES_FR = (
    'ID,Type,UGS,Nom,Publié,"En stock ?",Stock,"Tarif régulier",Catégories\n'
    "1,simple,EPINGLE,Épingle,1,1,3,2,Non classé\n"
    '2,simple,BOL,Bol,1,1,3,9,"Cuisine, Cuisine > Bols"\n'
).encode()
WOO_CATEGORIES_DE = (
    "ID,Typ,Artikelnummer,Name,Veröffentlicht,Vorrätig?,Bestand,Regulärer Preis,Kategorien\n"
    "1,simple,NADEL,Nadel,1,1,3,2,Unkategorisiert\n"
    '2,simple,TASSE,Tasse,1,1,3,9,"Küche > Tassen, Küche"\n'
).encode()


def test_woocommerce_product_type_is_the_most_specific_category(run_import):
    job, shop = import_sample(run_import, WOO_CATEGORIES, "cats")
    assert job.file_info["preset"] == "woocommerce"
    assert {sku: p.product_type for sku, p in by_sku(shop).items()} == {
        "TEE": "Clothing > T-shirts",
        "SOCK": "Sale > Clothing > Socks",  # the most levels
        "PIN": "",  # the default category: no category
        "CAP": "Hats",
        "BAG": "Bags, Wallets > Leather",
        "MUG": "Kitchen",
        "HOOD-S": "Clothing > Hoodies",  # its variable product's
    }


@pytest.mark.parametrize("content, expected", [
    (WOO_CATEGORIES_FR, {"EPINGLE": "", "BOL": "Cuisine > Bols"}),
    (WOO_CATEGORIES_DE, {"NADEL": "", "TASSE": "Küche > Tassen"}),
], ids=["fr", "de"])
def test_woocommerce_default_category_in_french_and_german(run_import, content, expected):
    _, shop = import_sample(run_import, content, "catsl10n")
    assert {sku: p.product_type for sku, p in by_sku(shop).items()} == expected


def test_deepest_path():
    expr = DeepestPath(Col(0))
    rows = [
        ["Clothing, Clothing > T-shirts"], ["A > B, C > D"], ["A, B"], ["Uncategorized"], ["Uncategorized, Hats"],
        ["Hats, Uncategorized"], [""], [", A > B ,"], ["A>B>C, A > B"], ["Non classé"], ["Unkategorisiert, X"],
        ["uncategorized"], [r"Bags\, Wallets, Bags\, Wallets > Leather"],
    ]
    assert [expr.py(row) for row in rows] == [
        "Clothing > T-shirts", "A > B", "A", "", "Hats", "Hats", "", "A > B", "A>B>C", "", "X", "uncategorized",
        "Bags, Wallets > Leather",
    ]
    if connection.vendor == "postgresql":
        _sql_agrees(expr, [row for row in rows if "\\," not in row[0]])


# Brands from attributes: beside a colour, in its slug, by Brands first when both are set, in Dutch.
WOO_BRAND_ATTRIBUTES = (
    b'ID,Type,SKU,Name,Published,"In stock?",Stock,"Regular price",Brands,Parent,'
    b'"Attribute 1 name","Attribute 1 value(s)","Attribute 1 visible","Attribute 1 global",'
    b'"Attribute 2 name","Attribute 2 value(s)","Attribute 2 visible","Attribute 2 global"\n'
    b"1,simple,TEE,Tee,1,1,3,20,,,Color,Red,1,1,Brand,Acme,1,1\n"
    b"2,simple,CUP,Cup,1,1,3,8,,,pa_brand,Potter & Co,1,1,,,,\n"
    b"3,simple,BAG,Bag,1,1,3,30,Maker,,Brand,Other,1,0,,,,\n"
    b'4,simple,FIETS,Fiets,1,1,1,300,,,Merk,"Smith\\, Sons",1,0,,,,\n'
    b"5,simple,PLAIN,Plain,1,1,1,3,,,Material,Cotton,1,0,,,,\n"
)
WOO_BRAND_ATTRIBUTES_FR = (
    'ID,Type,UGS,Nom,Publié,"En stock ?",Stock,"Tarif régulier","Nom de l’attribut 1","Valeur(s) de l’attribut 1"\n'
    "1,simple,SAVON,Savon,1,1,3,6,Marque,Savonnerie du Sud\n"
).encode()
WOO_BRAND_ATTRIBUTES_DE = (
    "ID,Typ,Artikelnummer,Name,Veröffentlicht,Vorrätig?,Bestand,Regulärer Preis,Attribut 1 Name,Attribut 1 Wert(e)\n"
    "1,simple,TASSE,Tasse,1,1,3,9,Marke,Keramik Nord\n"
).encode()


def test_woocommerce_brand_attribute_gives_the_brand(run_import):
    job, shop = import_sample(run_import, WOO_BRAND_ATTRIBUTES, "brandattr")
    found = by_sku(shop)
    assert {sku: (p.brand, p.color) for sku, p in found.items()} == {
        "TEE": ("Acme", "Red"),
        "CUP": ("Potter & Co", ""),
        "BAG": ("Maker", ""),  # its Brands first
        "FIETS": ("Smith, Sons", ""),
        "PLAIN": ("", ""),
    }
    assert job.column_mapping["Attribute 2 value(s)"] == "color, size or brand, by the attribute's name"


@pytest.mark.parametrize("content, expected", [
    (WOO_BRAND_ATTRIBUTES_FR, {"SAVON": "Savonnerie du Sud"}),
    (WOO_BRAND_ATTRIBUTES_DE, {"TASSE": "Keramik Nord"}),
], ids=["fr", "de"])
def test_woocommerce_brand_attribute_in_french_and_german(run_import, content, expected):
    _, shop = import_sample(run_import, content, "brandl10n")
    assert {sku: p.brand for sku, p in by_sku(shop).items()} == expected


# A product whose colour is an option (the option wins), one in two colours with only a size option, one
# without options; a German admin's label.
SHOPIFY_COLOUR_METAFIELD = (
    b"Handle,Title,Vendor,Published,Option1 Name,Option1 Value,Variant SKU,Variant Price,Status,"
    b"Farbe (product.metafields.shopify.color-pattern)\n"
    b"tee,Tee,Atelier,true,Color,Red,TEE-RED,20.00,active,red; blue\n"
    b"tee,,,,,Blue,TEE-BLUE,20.00,,\n"
    b"bike,Bike,Atelier,true,Size,M,BIKE-M,900.00,active,black; silver\n"
    b"bike,,,,,L,BIKE-L,900.00,,\n"
    b"bell,Bell,Atelier,true,Title,Default Title,BELL,15.00,active,yellow\n"
    b"lock,Lock,Atelier,true,Title,Default Title,LOCK,25.00,active,\n"
)
SHOPIFY_COLOUR_METAFIELD_2024 = (
    b"Title,URL handle,Vendor,Published on online store,Status,SKU,Option1 name,Option1 value,Price,"
    b"Color (product.metafields.shopify.color-pattern)\n"
    b"Bike,bike,Atelier,TRUE,Active,BIKE-M,Size,M,900.00,black; silver\n"
    b",bike,,,,BIKE-L,,L,900.00,\n"
    b"Bell,bell,Atelier,TRUE,Active,BELL,Title,Default Title,15.00,yellow\n"
)


def test_shopify_colour_metafield_when_no_option_gives_a_colour(run_import):
    job, shop = import_sample(run_import, SHOPIFY_COLOUR_METAFIELD, "colourmeta")
    assert {sku: p.color for sku, p in by_sku(shop).items()} == {
        "TEE-RED": "Red", "TEE-BLUE": "Blue",  # its Color option
        "BIKE-M": "black/silver", "BIKE-L": "black/silver",  # the product's, on every variant
        "BELL": "yellow", "LOCK": "",
    }
    assert job.column_mapping["Farbe (product.metafields.shopify.color-pattern)"] == "color, where no option gives one"
    _, current = import_sample(run_import, SHOPIFY_COLOUR_METAFIELD_2024, "colourmeta24")
    assert {sku: p.color for sku, p in by_sku(current).items()} == {
        "BIKE-M": "black/silver", "BIKE-L": "black/silver", "BELL": "yellow",
    }


def test_relisted():
    expr = Relisted(Col(0))
    rows = [["black; silver"], ["red"], [""], ["a;b"], [" ; a ;"], ["a; ;b"]]
    assert [expr.py(row) for row in rows] == ["black/silver", "red", "", "a/b", "a", "a/b"]
    if connection.vendor == "postgresql":
        _sql_agrees(expr, rows)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "content", [SHOPIFY_UNTRACKED, SHOPIFY_UNTRACKED_2024, WOO_CATEGORIES, WOO_CATEGORIES_FR, WOO_CATEGORIES_DE,
        WOO_BRAND_ATTRIBUTES, WOO_BRAND_ATTRIBUTES_FR, WOO_BRAND_ATTRIBUTES_DE, SHOPIFY_COLOUR_METAFIELD,
        SHOPIFY_COLOUR_METAFIELD_2024],
    ids=["shopify-untracked", "shopify-untracked-2024", "woo-categories", "woo-categories-fr", "woo-categories-de",
         "woo-brand-attributes", "woo-brand-attributes-fr", "woo-brand-attributes-de", "shopify-colour-metafield",
         "shopify-colour-metafield-2024"],
)
def test_staged_and_python_readers_agree(run_import, settings, content):
    import_with_both_readers(run_import, settings, content, "gap")
