"""What real shop exports carry beyond the formats' own columns, as their documentation describes it.

WooCommerce's exporter writes a product's custom meta fields as "Meta: <key>" (French "Méta : <key>")
when asked to export custom meta: the usual GTIN plugins keep the product's barcode there (Germanized:
``_ts_gtin`` and ``_ts_mpn``, also on variations; EAN for WooCommerce: ``_alg_ean``; Product GTIN (EAN,
UPC, ISBN) for WooCommerce: ``_wpm_gtin_code``). Shopify writes ``Variant Grams`` 0 for a variant whose
weight was never entered (the admin's default): that is no weight, not a weightless product. Shopify
does not require a variant's SKU to be unique: variants that share one are one product, reported as
repeated SKUs. WooCommerce's exporter
writes a description's line breaks as the two characters "\\n" (and a "\\n" the text held as "\\\\n"):
its importer reads them back as line breaks. Shopify's product CSV as its admin exports it since
2024 names its columns otherwise ("URL handle", "Price", "Compare-at price", "Inventory quantity",
"Continue selling when out of stock" DENY or CONTINUE, "Weight value (grams)", "Product image URL"):
the same product CSV. WooCommerce's exporter writes the Stock of a variation whose variable product
manages its stock as "parent": the variation sells from its variable product's stock. A WooCommerce
sale price scheduled ("Date sale price starts"/"ends", days, inclusive) is the price only while the sale
runs, and only below the regular price. An external (affiliate) product is sold on another site, not by
the shop: not one of its products. WooCommerce's exporter joins a list's items (categories, images,
brands, attribute values) with ", " and writes a comma inside an item as "\\,".
Both readers must agree.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from imports.products.derive import (
    Col,
    First,
    FromParent,
    LineBreaks,
    LowerPrice,
    SaleWhile,
    Unescaped,
    WithUnit,
)

from .test_preset_export_quirks import import_with_both_readers
from .test_preset_options_discounts import _sql_agrees
from .test_presets import by_sku, counts, import_sample

pytestmark = pytest.mark.django_db

# A German shop with Germanized: its variations carry their own GTIN and MPN in the plugin's meta fields.
GERMANIZED_DE = (
    "ID,Typ,Artikelnummer,Name,Veröffentlicht,Vorrätig?,Lager,Angebotspreis,Regulärer Preis,Kategorien,"
    "Bilder,Übergeordnetes Produkt,Attribut 1 Name,Attribut 1 Wert(e),Meta: _ts_gtin,Meta: _ts_mpn\n"
    '10,variable,POSTER,Poster,1,1,,,,Kunst,https://shop.example.de/poster.jpg,,Größe,"A1, A2",,\n'
    "11,variation,POSTER-A1,Poster - A1,1,1,4,,\"24,90\",,,POSTER,Größe,A1,4006381333931,GZ-A1\n"
    "12,variation,POSTER-A2,Poster - A2,1,1,2,,\"19,90\",,,POSTER,Größe,A2,,GZ-A2\n"
    "13,simple,RAHMEN,Rahmen,1,1,5,,12,Kunst,,,,,'04012345678901,\n"
).encode()

# A French shop: WooCommerce's own GTIN column first, else EAN for WooCommerce's meta, else Product GTIN's.
PLUGINS_FR = (
    'ID,Type,UGS,"GTIN, UPC, EAN ou ISBN",Nom,Publié,"En stock ?",Stock,"Tarif promo","Tarif régulier",'
    "Catégories,Images,Parent,Méta : _alg_ean,Méta : _wpm_gtin_code\n"
    "20,simple,SAVON,4006381333931,Savon,1,1,3,,6,Bain,,,4012345678901,\n"
    "21,simple,BOUGIE,,Bougie,1,1,3,,14,Maison,,,4012345678918,4012345678925\n"
    "22,simple,VASE,,Vase,1,1,3,,30,Maison,,,,4012345678925\n"
    "23,simple,PLAT,,Plat,1,1,3,,30,Maison,,,4.01235E+12,\n"
).encode()


def test_germanized_gtin_and_mpn_of_each_variation(run_import):
    job, shop = import_sample(run_import, GERMANIZED_DE, "gz")
    assert job.file_info["preset"] == "woocommerce"
    found = by_sku(shop)
    assert {sku: (p.gtin, p.mpn) for sku, p in found.items()} == {
        "POSTER-A1": ("4006381333931", "GZ-A1"),
        "POSTER-A2": ("", "GZ-A2"),  # a variation's own identifiers: never its parent's
        "RAHMEN": ("04012345678901", ""),  # the apostrophe that kept its leading zero left out
    }
    assert job.column_mapping["Meta: _ts_gtin"] == "gtin"
    assert job.column_mapping["Meta: _ts_mpn"] == "mpn"


def test_gtin_plugins_meta_after_woocommerce_own_gtin(run_import):
    job, shop = import_sample(run_import, PLUGINS_FR, "eanfr")
    gtins = {sku: p.gtin for sku, p in by_sku(shop).items()}
    assert gtins == {
        "SAVON": "4006381333931",  # WooCommerce's own GTIN first
        "BOUGIE": "4012345678918",  # EAN for WooCommerce before Product GTIN
        "VASE": "4012345678925",
        "PLAT": "",  # a spreadsheet's "4.01235E+12" lost its digits
    }
    assert job.column_mapping["Méta : _alg_ean"] == "gtin"


# Shopify: "Variant Grams" is the weight in grams; a variant nobody weighed has 0 (or 0.0).
SHOPIFY_GRAMS = (
    b"Handle,Title,Body (HTML),Vendor,Type,Published,Option1 Name,Option1 Value,Variant SKU,Variant Grams,"
    b"Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price,Image Src,Status\n"
    b"mug,Mug,<p>Stoneware.</p>,Atelier,Kitchen,true,Size,Small,MUG-S,350,shopify,4,deny,12.00,,active\n"
    b"mug,,,,,,,Large,MUG-L,0.0,shopify,4,deny,14.00,,\n"
    b"e-book,E-book,,Atelier,Books,true,Title,Default Title,EBOOK,0,,0,deny,5.00,,active\n"
)


def test_shopify_zero_grams_is_no_weight(run_import):
    job, shop = import_sample(run_import, SHOPIFY_GRAMS, "grams")
    assert job.file_info["preset"] == "shopify"
    weights = {sku: p.weight for sku, p in by_sku(shop).items()}
    assert weights == {"MUG-S": "350 g", "MUG-L": "", "EBOOK": ""}
    again = run_import(SHOPIFY_GRAMS, for_vendor=shop)
    assert counts(again) == (3, 0, 0, 3, 0, 0)


@pytest.mark.parametrize("text, expected", [
    ("0", ""), ("0.0", ""), ("00", ""), (".0", ""), ("0.", ""), ("", ""),
    ("250", "250 g"), ("0.5", "0.5 g"), (".5", "0.5 g"), ("10", "10 g"), ("100.0", "100.0 g"),
])
def test_zero_is_none_weight(text, expected):
    assert WithUnit(Col(0), "g", zero_is_none=True).py([text]) == expected


@pytest.mark.postgres
def test_zero_is_none_weight_in_sql():
    texts = ["0", "0.0", "00", ".0", "0.", "", "250", ".5", "100.0", "0.05", "10", "0,0"]
    _sql_agrees(WithUnit(Col(0), "g", zero_is_none=True), [[text] for text in texts])


# One SKU for a product's three sizes; another product's own SKUs; a SKU two products share (the
# same item listed twice: the last row wins, as for any repeated SKU).
SHOPIFY_SHARED_SKU = (
    b"Handle,Title,Body (HTML),Vendor,Type,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,"
    b"Variant SKU,Variant Price,Image Src,Status\n"
    b"bikini-top,Bikini top,<p>Lycra.</p>,Label,Swimwear,true,Color,Black,Size,S,TOP-1,89.00,https://cdn.example.com/top.jpg,active\n"
    b"bikini-top,,,,,,,Black,,M,TOP-1,89.00,,\n"
    b"bikini-top,,,,,,,Black,,L,TOP-1,95.00,,\n"
    b"bikini-top,,,,,,,,,,,,https://cdn.example.com/top-2.jpg,\n"
    b"sandal,Sandal,,Label,Shoes,true,Size,38,,,SAN-38,40.00,,active\n"
    b"sandal,,,,,,,39,,,SAN-39,40.00,,\n"
    b"towel,Towel,,Label,Home,true,Title,Default Title,,,TWL,20.00,,active\n"
    b"towel-gift,Towel (gift),,Label,Home,true,Title,Default Title,,,TWL,22.00,,active\n"
)


def test_shopify_variants_sharing_a_sku_are_one_product_reported_as_repeated(run_import):
    # The SKU is the product's key: rows that repeat it are one product, the last row's, and the
    # job counts the repeats (telling such variants apart by their options is not done: see the docs).
    job, shop = import_sample(run_import, SHOPIFY_SHARED_SKU, "shared")
    found = by_sku(shop)
    assert {sku: (p.title, p.size, p.price) for sku, p in found.items()} == {
        "TOP-1": ("Bikini top", "L", Decimal("95.00")),
        "SAN-38": ("Sandal", "38", Decimal("40.00")),
        "SAN-39": ("Sandal", "39", Decimal("40.00")),
        "TWL": ("Towel (gift)", "", Decimal("22.00")),
    }
    assert (job.rows_total, job.rows_created, job.rows_repeated, job.rows_skipped) == (7, 4, 3, 1)
    assert found["TOP-1"].image_link == "https://cdn.example.com/top.jpg"


# Descriptions as WooCommerce's exporter writes them: one line, each line break as "\n".
WOO_LINE_BREAKS = (
    b'ID,Type,SKU,Name,Published,"Short description",Description,"In stock?",Stock,"Sale price","Regular price",'
    b"Categories,Images,Parent\n"
    br'30,simple,LINEN,Linen shirt,1,Washed linen.,"<p>Washed linen.</p>\n<ul>\n<li>100% linen</li>\n</ul>\n",1,3,,79,'
    b"Shirts,,\n"
    br'31,simple,SOAP,Soap,1,"Olive oil.\nHandmade.",,1,5,,6,Bath,,' b"\n"
    br'32,simple,PATH,Cable,1,,"Save to C:\\new\nthen plug in.",1,5,,6,Tech,,' b"\n"
    br'40,variable,MUG,Mug,1,,"<p>Stoneware.</p>\n<p>Dishwasher safe.</p>",1,,,,Kitchen,,' b"\n"
    b"41,variation,MUG-BLUE,Mug - Blue,1,,,1,4,,12,,,MUG\n"
)


def test_woocommerce_line_breaks_in_descriptions(run_import):
    _, shop = import_sample(run_import, WOO_LINE_BREAKS, "breaks")
    descriptions = {sku: p.description for sku, p in by_sku(shop).items()}
    assert descriptions == {
        "LINEN": "<p>Washed linen.</p>\n<ul>\n<li>100% linen</li>\n</ul>",
        "SOAP": "Olive oil.\nHandmade.",  # the short description, when there is no description
        "PATH": "Save to C:\\new\nthen plug in.",  # the text's own "\n" kept
        "MUG-BLUE": "<p>Stoneware.</p>\n<p>Dishwasher safe.</p>",  # its variable product's
    }


def test_line_breaks_in_sql():
    rows = [[r"a\nb"], [r"a\\nb"], [r"a\\nb\nc"], ["plain"], [""], [r"\n"], [r"end\n"], [r"x\\n\\ny"], ["a\\b"]]
    for row in rows:
        assert "\n" not in row[0]  # the exporter never writes a line break itself
    if connection.vendor == "postgresql":
        _sql_agrees(LineBreaks(Col(0)), [row for row in rows if "\\\\n" not in row[0]])
    assert [LineBreaks(Col(0)).py(row) for row in rows] == [
        "a\nb", "a\\nb", "a\\nb\nc", "plain", "", "", "end", "x\\n\\ny", "a\\b",
    ]


# The current header, as Shopify's help describes it: the product's first row carries its own
# columns, each variant's row its URL handle, SKU, option values, price and stock; a row with
# only a URL handle and an image adds an image.
SHOPIFY_CURRENT = (
    b"Title,URL handle,Description,Vendor,Product category,Type,Tags,Published on online store,Status,SKU,"
    b"Barcode,Option1 name,Option1 value,Option1 Linked To,Option2 name,Option2 value,Option2 Linked To,"
    b"Price,Compare-at price,Cost per item,Charge tax,Inventory tracker,Inventory quantity,"
    b"Continue selling when out of stock,Weight value (grams),Weight unit for display,Requires shipping,"
    b"Fulfillment service,Product image URL,Image position,Image alt text,Variant image URL,Gift card,"
    b"Google Shopping / Google product category,Google Shopping / Manufacturer part number (MPN),"
    b"Google Shopping / Condition\n"
    b'Linen shirt,linen-shirt,<p>Washed linen.</p>,Maison Lin,Apparel & Accessories > Clothing > Shirts,Shirts,'
    b'"linen, summer",TRUE,Active,LIN-S,4006381333931,Color,Sand,,Size,S,,89.00,99.00,40.00,TRUE,shopify,3,DENY,'
    b"250,kg,TRUE,manual,https://cdn.example.lu/linen.jpg,1,,,FALSE,Apparel & Accessories > Clothing,LIN-MPN,"
    b"refurbished\n"
    b",linen-shirt,,,,,,,,LIN-M,,,Sand,,,M,,89.00,99.00,40.00,TRUE,shopify,0,DENY,260,kg,TRUE,manual,,,,"
    b"https://cdn.example.lu/linen-m.jpg,,,,\n"
    b",linen-shirt,,,,,,,,LIN-L,,,Sand,,,L,,89.00,,40.00,TRUE,shopify,0,CONTINUE,270,kg,TRUE,manual,,,,,,,,\n"
    b",linen-shirt,,,,,,,,,,,,,,,,,,,,,,,,,,,https://cdn.example.lu/linen-2.jpg,2,,,,,,\n"
    b"Gift wrap,gift-wrap,Recycled paper,Maison Lin,,Service,,TRUE,Active,WRAP,,Title,Default Title,,,,,2.50,,,"
    b"TRUE,,0,DENY,0,g,FALSE,manual,,,,,FALSE,,,\n"
    b"Winter coat,winter-coat,<p>Wool.</p>,Maison Lin,,Coats,,TRUE,Draft,COAT-M,,Size,M,,,,,240.00,,,TRUE,"
    b"shopify,5,DENY,1200,kg,TRUE,manual,,,,,FALSE,,,\n"
    b"Old scarf,old-scarf,,Maison Lin,,Scarves,,FALSE,Active,SCARF,,Title,Default Title,,,,,30.00,,,TRUE,"
    b"shopify,5,DENY,100,g,TRUE,manual,,,,,FALSE,,,\n"
)


def test_shopify_current_header_is_the_shopify_product_csv(run_import):
    job, shop = import_sample(run_import, SHOPIFY_CURRENT, "current")
    assert job.file_info["preset"] == "shopify"
    found = by_sku(shop)
    # A draft and a product not on the online store are not for sale; the image row adds an image.
    assert set(found) == {"LIN-S", "LIN-M", "LIN-L", "WRAP"}
    assert (job.rows_total, job.rows_rejected, job.rows_skipped) == (4, 0, 3)
    small, medium, large = found["LIN-S"], found["LIN-M"], found["LIN-L"]
    for variant in (small, medium, large):
        assert (variant.title, variant.description, variant.brand) == ("Linen shirt", "<p>Washed linen.</p>", "Maison Lin")
        assert variant.product_type == "Apparel & Accessories > Clothing > Shirts"
        assert (variant.color, variant.condition) == ("Sand", "refurbished")
    assert (small.price, small.sale_price, small.gtin, small.mpn) == (Decimal("99.00"), Decimal("89.00"), "4006381333931", "LIN-MPN")
    assert (large.price, large.sale_price) == (Decimal("89.00"), None)
    assert [(v.size, v.availability, v.quantity, v.weight) for v in (small, medium, large)] == [
        ("S", "in_stock", 3, "250 g"), ("M", "out_of_stock", 0, "260 g"), ("L", "backorder", 0, "270 g"),
    ]
    assert small.image_link == "https://cdn.example.lu/linen.jpg"
    assert small.additional_image_link == "https://cdn.example.lu/linen-2.jpg"
    assert medium.image_link == "https://cdn.example.lu/linen-m.jpg"
    wrap = found["WRAP"]
    assert (wrap.availability, wrap.weight, wrap.price) == ("in_stock", "", Decimal("2.50"))  # not tracked
    assert job.column_mapping["URL handle"] == "id"
    assert job.column_mapping["Compare-at price"] == "price"


# A variable cap managing the stock of its variations (12 caps, any colour), one variation with its
# own stock, one without a stock; German headers.
WOO_PARENT_STOCK = (
    "ID,Typ,Artikelnummer,Name,Veröffentlicht,Vorrätig?,Bestand,Angebotspreis,Regulärer Preis,Kategorien,"
    "Übergeordnetes Produkt,Attribut 1 Name,Attribut 1 Wert(e)\n"
    '50,variable,CAP,Kappe,1,1,12,,,Hüte,,Farbe,"Schwarz, Rot, Blau"\n'
    "51,variation,CAP-BLACK,Kappe - Schwarz,1,1,parent,,15,,CAP,Farbe,Schwarz\n"
    "52,variation,CAP-RED,Kappe - Rot,1,1,3,,15,,CAP,Farbe,Rot\n"
    "53,variation,CAP-BLUE,Kappe - Blau,1,1,,,15,,CAP,Farbe,Blau\n"
).encode()


def test_woocommerce_variation_selling_from_its_parent_stock(run_import):
    job, shop = import_sample(run_import, WOO_PARENT_STOCK, "pstock")
    stock = {sku: (p.quantity, p.availability) for sku, p in by_sku(shop).items()}
    assert stock == {
        "CAP-BLACK": (12, "in_stock"),  # "parent": its variable product's stock
        "CAP-RED": (3, "in_stock"),
        "CAP-BLUE": (None, "in_stock"),  # no stock managed: none
    }
    assert job.rows_rejected == 0


# A variable tee whose brand is an attribute of the product (not one its variations vary by): the
# exporter writes it on the product's row only; a variation with a brand attribute of its own, and
# a simple product with its own.
WOO_PARENT_BRAND = (
    "ID,Type,SKU,Name,Published,In stock?,Stock,Regular price,Parent,Attribute 1 name,Attribute 1 value(s),"
    "Attribute 1 visible,Attribute 1 global,Attribute 2 name,Attribute 2 value(s),Attribute 2 visible,"
    "Attribute 2 global\n"
    '70,variable,TEE,Tee,1,1,,,,Color,"Red, Blue",1,1,Brand,Atelier Nord,1,1\n'
    "71,variation,TEE-RED,Tee - Red,1,1,4,19,TEE,Color,Red,,1,,,,\n"
    "72,variation,TEE-BLUE,Tee - Blue,1,1,2,19,TEE,Color,Blue,,1,Brand,Maison Bleue,,1\n"
    "73,simple,MUG,Mug,1,1,6,9,,Marque,Céramiques Sud,1,0,,,,\n"
    "74,simple,CAP,Cap,1,1,6,9,,,,,,,,,\n"
).encode()


def test_woocommerce_variation_takes_its_products_brand_attribute(run_import):
    job, shop = import_sample(run_import, WOO_PARENT_BRAND, "pbrand")
    found = {sku: (p.brand, p.color) for sku, p in by_sku(shop).items()}
    assert found == {
        "TEE-RED": ("Atelier Nord", "Red"),  # its variable product's brand
        "TEE-BLUE": ("Maison Bleue", "Blue"),  # its own
        "MUG": ("Céramiques Sud", ""),
        "CAP": ("", ""),
    }
    assert job.rows_rejected == 0


def test_from_parent():
    shared = FromParent(Col(0), "parent", Col(1))
    assert [shared.py(row) for row in (["parent", "12"], ["3", "12"], ["", "12"], ["Parent", "12"])] == [
        "12", "3", "", "Parent",
    ]
    assert FromParent(Col(0), "parent").py(["parent"]) == ""  # no parent row: no stock
    if connection.vendor == "postgresql":
        _sql_agrees(shared, [["parent", "12"], ["3", "12"], ["", "12"], ["Parent", "12"], ["parent", ""]])
        _sql_agrees(FromParent(Col(0), "parent"), [["parent"], ["7"]])


# Sales as WooCommerce schedules them (the exporter writes the days as 2024-06-01), in French.
WOO_SCHEDULED_SALES = (
    'ID,Type,UGS,Nom,Publié,"En stock ?",Stock,"Date de début de promo","Date de fin de promo","Tarif promo",'
    '"Tarif régulier"\n'
    "1,simple,SOON,Bientôt,1,1,3,2099-01-01,2099-02-01,10,20\n"
    "2,simple,OVER,Fini,1,1,3,2001-01-01,2001-02-01,10,20\n"
    "3,simple,OPEN,Depuis,1,1,3,2001-01-01,,10,20\n"
    "4,simple,UNTIL,Jusqu'à,1,1,3,,2099-01-01,10,20\n"
    "5,simple,ALWAYS,Toujours,1,1,3,,,10,20\n"
    "6,simple,SAME,Pareil,1,1,3,,,20,20\n"
    '7,simple,ABOVE,Plus cher,1,1,3,,,"25,50",20\n'
).encode()


def test_woocommerce_scheduled_sale_is_the_price_only_while_it_runs(run_import):
    _, shop = import_sample(run_import, WOO_SCHEDULED_SALES, "sched")
    sales = {sku: (p.price, p.sale_price) for sku, p in by_sku(shop).items()}
    regular, sale = Decimal("20.00"), Decimal("10.00")
    assert sales == {
        "SOON": (regular, None), "OVER": (regular, None),
        "OPEN": (regular, sale), "UNTIL": (regular, sale), "ALWAYS": (regular, sale),
        # A sale price as high as the price is no sale: WooCommerce sells at the price.
        "SAME": (regular, None), "ABOVE": (regular, None),
    }


def test_sale_while():
    expr = SaleWhile(Col(0), Col(1), Col(2), today="2024-06-01")
    rows = [
        ["10", "2024-06-01", "2024-06-01"], ["10", "2024-06-02", ""], ["10", "", "2024-05-31"],
        ["10", "2024-05-01 00:00:00", "2024-06-30"], ["10", "", ""], ["", "2024-01-01", ""], ["10", "June", ""],
    ]
    assert [expr.py(row) for row in rows] == ["10", "", "", "10", "10", "", ""]
    if connection.vendor == "postgresql":
        _sql_agrees(expr, rows)
        _sql_agrees(SaleWhile(Col(0), None, Col(1), today="2024-06-01"), [["10", "2024-06-01"], ["10", "2024-05-01"]])


# WooCommerce's product types as its exporter writes them (a list: "simple, downloadable, virtual").
WOO_TYPES = (
    b'ID,Type,SKU,Name,Published,"In stock?",Stock,"Sale price","Regular price","External URL","Button text",Parent\n'
    b'60,"simple, downloadable, virtual",EBOOK,E-book,1,1,,,9,,,\n'
    b"61,external,PENNANT,Pennant,1,1,,,11.05,https://other-shop.example.com/pennant,Buy on the other shop,\n"
    b'62,"external, virtual",VOUCHER,Voucher,1,1,,,25,https://other-shop.example.com/voucher,Buy,\n'
    b"63,simple,MUG,Mug,1,1,4,,12,,,\n"
)


def test_woocommerce_external_product_is_not_the_shop_s(run_import):
    job, shop = import_sample(run_import, WOO_TYPES, "types")
    assert set(by_sku(shop)) == {"EBOOK", "MUG"}
    assert (job.rows_total, job.rows_skipped, job.rows_rejected) == (2, 2, 0)
    assert "external product" in job.progress_message


WOO_ESCAPED_COMMAS = (
    b'ID,Type,SKU,Name,Published,"In stock?",Stock,"Regular price",Categories,Images,Brands,Parent,'
    b'"Attribute 1 name","Attribute 1 value(s)"\n'
    b'1,simple,BAG,Bag,1,1,3,20,"Bags\\, Wallets & Purses > Leather, Sale","https://x.example/bag.jpg, '
    b'https://x.example/bag-2.jpg","Smith\\, Sons & Co",,Color,"Blue\\, Navy"\n'
    b'2,variable,TEE,Tee,1,1,,,Shirts,https://x.example/tee.jpg,,,Color,"Red, Blue\\, Navy"\n'
    b'3,variation,TEE-BN,"Tee - Blue, Navy",1,1,2,12,,,,TEE,Color,"Blue\\, Navy"\n'
    b"4,simple,CAP,Cap,1,1,3,9,\"Hats, Sale\",https://x.example/cap.jpg,Smith,,Color,Red\n"
)


def test_woocommerce_comma_inside_a_list_item(run_import):
    _, shop = import_sample(run_import, WOO_ESCAPED_COMMAS, "commas")
    found = {sku: (p.product_type, p.brand, p.color, p.image_link) for sku, p in by_sku(shop).items()}
    assert found == {
        "BAG": ("Bags, Wallets & Purses > Leather", "Smith, Sons & Co", "Blue, Navy", "https://x.example/bag.jpg"),
        "TEE-BN": ("Shirts", "", "Blue, Navy", "https://x.example/tee.jpg"),
        "CAP": ("Hats", "Smith", "Red", "https://x.example/cap.jpg"),
    }
    assert by_sku(shop)["BAG"].additional_image_link == "https://x.example/bag-2.jpg"


def test_escaped_list_items():
    first = First(Col(0), escaped=True)
    rows = [[r"Bags\, Wallets, Sale"], ["a, b"], [r"\, x, y"], [r"a\,b\,c"], [""], [r", Bags\, Wallets"]]
    assert [first.py(row) for row in rows] == ["Bags, Wallets", "a", ", x", "a,b,c", "", "Bags, Wallets"]
    assert Unescaped(Col(0)).py([r"Blue\, Navy"]) == "Blue, Navy"
    if connection.vendor == "postgresql":
        _sql_agrees(first, [["a, b"], [""], [", b"]])
        _sql_agrees(Unescaped(Col(0)), [[r"Blue\, Navy"], ["Red"]])


def test_lower_price():
    expr = LowerPrice(Col(0), Col(1))
    rows = [["10", "20"], ["20", "20"], ["25", "20"], ["", "20"], ["10", ""], ["10.5 EUR", "10.50"], ["9.99", "10"]]
    assert [expr.py(row) for row in rows] == ["10", "", "", "", "10", "", "9.99"]
    assert expr.py(["12,50", "12"]) == ""  # read as the feed reads it: 12.50
    if connection.vendor == "postgresql":
        _sql_agrees(expr, [row for row in rows if row[1]])  # a missing price leaves the row to Python


@pytest.mark.postgres
@pytest.mark.parametrize(
    "content",
    [
        GERMANIZED_DE, PLUGINS_FR, SHOPIFY_GRAMS, SHOPIFY_SHARED_SKU, WOO_LINE_BREAKS, SHOPIFY_CURRENT,
        WOO_PARENT_STOCK, WOO_SCHEDULED_SALES, WOO_TYPES, WOO_ESCAPED_COMMAS, WOO_PARENT_BRAND,
    ],
    ids=[
        "germanized", "plugins-fr", "grams", "shared-sku", "line-breaks", "shopify-current", "parent-stock",
        "scheduled-sales", "types", "escaped-commas", "parent-brand",
    ],
)
def test_staged_and_python_readers_agree(run_import, settings, content):
    import_with_both_readers(run_import, settings, content, "plug")
