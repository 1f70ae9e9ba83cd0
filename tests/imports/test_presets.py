"""Shop exports (WooCommerce en/fr/de, Shopify, PrestaShop, Magento) import as they are, through the real job.

Each sample under feeds/ follows its format's documentation with its quirks (BOM, localized
headers, variant grouping, parent rows, Excel-mangled barcodes, multi-line HTML, ";"). On
PostgreSQL both readers (the staged one and Python's) must give the same outcome; the expected
products hold on SQLite too.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from background_tasks.status import TaskStatus
from imports.products.mappings import applied_mapping, key_column
from imports.products.presets import PRESETS, detect_preset
from imports.products.reading import FeedUnusable, detect_format
from tests.factories import VendorFactory
from wizamart.marketplace.models import Product

from .test_staged_parity import outcome, products

pytestmark = pytest.mark.django_db
FEEDS = Path(__file__).parent / "feeds"


def sample(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def by_sku(vendor) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.filter(vendor=vendor)}


def counts(job) -> tuple:
    return job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected, job.rows_skipped


def import_sample(run_import, content: bytes, code: str, **vendor):
    shop = VendorFactory(code=code, **vendor)
    return run_import(content, for_vendor=shop), shop


EXPECTED = {
    # file: (preset, counts (total, created, updated, unchanged, rejected, skipped))
    "woocommerce_en.csv": ("woocommerce", (4, 4, 0, 0, 0, 2)),
    "woocommerce_fr.csv": ("woocommerce", (2, 2, 0, 0, 0, 1)),
    "woocommerce_de.csv": ("woocommerce", (2, 2, 0, 0, 0, 0)),
    "shopify.csv": ("shopify", (3, 3, 0, 0, 0, 1)),
    "prestashop.csv": ("prestashop", (2, 2, 0, 0, 0, 0)),
    "magento.csv": ("magento", (2, 2, 0, 0, 0, 2)),
    "magento_grid.csv": ("magento_grid", (5, 5, 0, 0, 0, 3)),
}


def assert_imports_and_reimports_unchanged(run_import, name: str, preset: str, expected: tuple) -> None:
    """The sample imports completed with the preset and counts expected; importing it again changes nothing."""
    job, shop = import_sample(run_import, sample(name), "shop")
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.warnings, job.rejected_sample)
    assert job.file_info["preset"] == preset
    assert counts(job) == expected
    again = run_import(sample(name), for_vendor=shop)
    total, *_, skipped = expected
    assert counts(again) == (total, 0, 0, total, 0, skipped)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_shop_export_imports_and_reimports_unchanged(run_import, name):
    assert_imports_and_reimports_unchanged(run_import, name, *EXPECTED[name])


def test_woocommerce_sku_beats_id_and_variations_import(run_import):
    job, shop = import_sample(run_import, sample("woocommerce_en.csv"), "woo")
    found = by_sku(shop)
    assert set(found) == {"WOO-TEE-S", "WOO-TEE-M", "104", "WOO-MUG"}  # 104 has no SKU: its ID is the key
    small = found["WOO-TEE-S"]
    assert (small.price, small.sale_price, small.quantity) == (Decimal("19.90"), Decimal("15.00"), 12)
    assert small.gtin == ""  # "4.00638E+12": its digits were lost in a spreadsheet
    assert small.weight == "0.2 kg"
    assert found["WOO-TEE-M"].availability == "out_of_stock"
    assert found["WOO-TEE-M"].gtin == "4006381333931"
    assert found["104"].availability == "backorder"
    mug = found["WOO-MUG"]
    assert mug.image_link == "https://shop.example.lu/img/mug.jpg"
    assert mug.additional_image_link == "https://shop.example.lu/img/mug-2.jpg,https://shop.example.lu/img/mug-3.jpg"
    assert "2 rows skipped" in job.progress_message


def test_woocommerce_french_and_german_headers(run_import):
    _, fr = import_sample(run_import, sample("woocommerce_fr.csv"), "fr")
    pain, vin = by_sku(fr)["FR-PAIN"], by_sku(fr)["FR-VIN-75"]
    assert pain.title == "Pain de campagne" and "bois" in pain.description
    assert (pain.price, pain.quantity, pain.weight) == (Decimal("4.50"), 40, "0.8 kg")
    assert (vin.price, vin.sale_price, vin.availability) == (Decimal("13.50"), Decimal("11.00"), "out_of_stock")
    _, de = import_sample(run_import, sample("woocommerce_de.csv"), "de")
    kaffee = by_sku(de)["DE-KAFFEE"]
    assert (kaffee.price, kaffee.weight, kaffee.gtin) == (Decimal("8.90"), "500 g", "4006381333931")
    assert kaffee.additional_image_link == "https://laden.example.lu/img/kaffee-2.jpg"


def test_shopify_variants_inherit_their_product(run_import):
    job, shop = import_sample(run_import, sample("shopify.csv"), "shopify")
    found = by_sku(shop)
    assert set(found) == {"SH-SCARF-RED", "SH-SCARF-BLUE", "candle"}  # a product without SKU: its handle
    red, blue = found["SH-SCARF-RED"], found["SH-SCARF-BLUE"]
    assert (blue.title, blue.brand) == ("Wool scarf", "Atelier Lux")
    assert blue.description.startswith("<p>Warm wool scarf,\nhand made.")
    assert (red.price, red.sale_price) == (Decimal("49.00"), Decimal("39.00"))  # compare-at above the price
    assert (blue.price, blue.sale_price) == (Decimal("49.00"), None)
    assert red.image_link == "https://cdn.shopify.example/scarf.jpg"
    assert red.additional_image_link == "https://cdn.shopify.example/scarf-2.jpg,https://cdn.shopify.example/scarf-3.jpg"
    assert blue.image_link == "https://cdn.shopify.example/scarf-blue.jpg"
    assert (red.quantity, red.gtin, red.weight) == (5, "4006381333931", "200 g")
    assert job.rows_skipped == 1


def test_prestashop_reference_and_price_with_tax(run_import):
    _, shop = import_sample(run_import, sample("prestashop.csv"), "presta")
    huile = by_sku(shop)["PS-HUILE"]
    assert (huile.price, huile.gtin, huile.brand, huile.quantity) == (Decimal("12.00"), "3760123456789", "Domaine Sud", 20)
    assert huile.image_link == "https://presta.example.lu/img/1.jpg"
    assert huile.product_type == "Épicerie"
    assert by_sku(shop)["2"].title == "Miel"  # no reference: the product id


def test_magento_special_price_stock_and_images(run_import):
    job, shop = import_sample(run_import, sample("magento.csv"), "magento")
    found = by_sku(shop)
    assert set(found) == {"MG-JACKET-S", "MG-JACKET-M"}  # configurable parent and store view row skipped
    small = found["MG-JACKET-S"]
    assert (small.price, small.sale_price, small.quantity, small.title) == (Decimal("89.00"), Decimal("69.00"), 14, "Rain jacket S")
    assert (small.image_link, small.additional_image_link) == ("/r/a/jacket-s.jpg", "/r/a/jacket-s-2.jpg")
    assert found["MG-JACKET-M"].availability == "out_of_stock"


def test_prices_without_currency_take_the_vendors_default(run_import):
    job, shop = import_sample(run_import, sample("woocommerce_de.csv"), "chf", default_currency="CHF")
    assert {p.currency for p in Product.objects.filter(vendor=shop)} == {"CHF"}
    assert "CHF" in job.file_info["currency"]


# --- variations: what the format means, not what a sample holds -------------------------------

def _rewrite(content: bytes, *, order=None, drop=(), extra=False, delimiter=",") -> bytes:
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = rows[0]
    keep = [i for i, name in enumerate(header) if name not in drop]
    if order == "reversed":
        keep.reverse()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    for number, row in enumerate(rows):
        row = (row + [""] * len(header))[: len(header)]
        picked = [row[i] for i in keep]
        writer.writerow(picked + (["Extra column" if number == 0 else "noise"] if extra else []))
    return out.getvalue().encode()


VARIATIONS = [
    ("woocommerce_en.csv", {"order": "reversed"}),
    ("woocommerce_en.csv", {"extra": True, "drop": ("Weight (kg)", "Images", "Short description", "Tags")}),
    ("shopify.csv", {"order": "reversed", "extra": True}),
    ("magento.csv", {"order": "reversed", "drop": ("additional_images", "special_price")}),
    ("magento_grid.csv", {"order": "reversed", "extra": True, "drop": ("Thumbnail", "Salable Quantity", "Websites")}),
    ("prestashop.csv", {"order": "reversed", "delimiter": ";", "drop": ("Price tax included",)}),
]


@pytest.mark.parametrize(("name", "change"), VARIATIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIATIONS)])
def test_column_order_extra_and_missing_optional_columns(run_import, name, change):
    job, shop = import_sample(run_import, _rewrite(sample(name), **change), "changed")
    preset, expected = EXPECTED[name]
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.rejected_sample)
    assert job.file_info["preset"] == preset
    assert counts(job)[:2] == expected[:2]
    if "Price tax included" in change.get("drop", ()):
        assert by_sku(shop)["PS-HUILE"].price == Decimal("10.00")
    if change.get("extra"):
        assert "Extra column" in job.file_info["ignored_columns"]


def test_presets_are_recognised_and_forced():
    assert detect_preset(["Handle", "Title", "Variant SKU", "Variant Price"]).name == "shopify"
    assert detect_preset(["id", "title", "price"]).name == "google"
    assert detect_preset(["foo", "bar"]) is None
    assert set(PRESETS) == {"woocommerce", "shopify", "prestashop", "magento", "magento_grid", "google"}
    # Magento's product grid: its columns are the admin's choice, any of its own marks it.
    assert detect_preset(["ID", "Name", "Type", "Attribute Set", "SKU", "Price"]).name == "magento_grid"
    assert detect_preset(["SKU", "Name", "Price", "Quantity per Source"]).name == "magento_grid"
    assert detect_preset(["sku", "attribute_set_code", "product_type", "name"]).name == "magento"
    opener = lambda: io.BytesIO(b"Ref,Label,Cost\nA,B,1\n")  # noqa: E731
    with pytest.raises(FeedUnusable) as missing:
        detect_format(opener)
    assert missing.value.header == ["Ref", "Label", "Cost"]
    fmt = detect_format(opener, mapping={"Ref": "id", "Label": "title", "Cost": "price"})
    assert fmt.mapping == {"Ref": "id", "Label": "title", "Cost": "price"}
    with pytest.raises(FeedUnusable, match="known presets"):
        detect_format(opener, preset="nope")


# --- both readers agree on every sample and variation (PostgreSQL) ----------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("batch_size", [2, 5_000])
@pytest.mark.parametrize("content", [sample(n) for n in sorted(EXPECTED)] + [
    _rewrite(sample(n), **c) for n, c in VARIATIONS], ids=sorted(EXPECTED) + [f"var{i}" for i in range(len(VARIATIONS))])
def test_staged_and_python_readers_agree_on_presets(run_import, settings, content, batch_size):
    settings.IMPORTS_BATCH_SIZE = batch_size
    settings.IMPORTS_USE_COPY = True
    results = []
    for in_database in (True, False):
        settings.IMPORTS_PARSE_IN_DATABASE = in_database
        job, shop = import_sample(run_import, content, f"agree-{in_database}")
        results.append((job, shop))
    (staged, staged_shop), (python, python_shop) = results
    assert staged.file_info["reader"] == "postgresql", staged.file_info
    assert (outcome(staged), counts(staged)) == (outcome(python), counts(python))
    assert products(staged_shop) == products(python_shop)


# --- what the mapping says of each column -------------------------------------------------------

OPTION_VALUE = "color or size, by the option's name; with the handle, the id when Variant SKU is empty"
OPTION_NAME = "color or size: names what its option's value is (Color, Size…)"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("shopify_options.csv", {
            "Handle": "id", "Variant SKU": "id", "Variant Inventory Qty": "quantity", "Variant Price": "price",
            **{f"Option{n} Name": OPTION_NAME for n in (1, 2, 3)},
            **{f"Option{n} Value": OPTION_VALUE for n in (1, 2, 3)},
        }),
        ("woocommerce_attributes.csv", {
            "SKU": "id", "Stock": "quantity", "In stock?": "availability",
            "Attribute 1 name": "color, size or brand: names what its attribute's value is (Color, Size, Brand…)",
            "Attribute 2 value(s)": "color, size or brand, by the attribute's name",
            "Attribute 1 visible": "", "Attribute 2 global": "", "Attribute 1 default": "",
        }),
        ("woocommerce_attributes_fr.csv", {
            "Nom de l’attribut 2": "color, size or brand: names what its attribute's value is (Color, Size, Brand…)",
            "Valeur(s) de l’attribut 1": "color, size or brand, by the attribute's name", "Attribut 1 visible": "",
        }),
        ("woocommerce_attributes_de.csv", {
            "Attribut 1 Name": "color, size or brand: names what its attribute's value is (Color, Size, Brand…)",
            "Attribut 2 Wert(e)": "color, size or brand, by the attribute's name", "Attribut 1 Sichtbar": "",
        }),
        ("magento_grid.csv", {
            "ID": "", "SKU": "id", "Name": "title", "Price": "price", "EAN": "gtin", "Thumbnail": "image_link",
            "Kleur": "color", "Maat": "size", "Visibility": "", "Action": "",
            "Quantity per Source": "quantity and availability, each source's stock added up",
            "Salable Quantity": "quantity and availability, each stock's salable quantity added up",
        }),
        ("magento_attributes.csv", {
            "sku": "id", "qty": "quantity", "additional_attributes": "color and size, from its color=… and size=… pairs",
        }),
    ],
)
def test_mapping_says_what_each_column_does(name, expected):
    fmt = detect_format(lambda: io.BytesIO(sample(name)))
    applied = applied_mapping(fmt)

    assert {cell: applied[cell] for cell in expected} == expected
    # The key column is the shop's own sku: the last column going to id.
    assert key_column(applied) == KEYS[name]


KEYS = {
    "shopify_options.csv": "Variant SKU", "woocommerce_attributes.csv": "SKU", "woocommerce_attributes_fr.csv": "UGS",
    "woocommerce_attributes_de.csv": "Artikelnummer", "magento_attributes.csv": "sku", "magento_grid.csv": "SKU",
}


def test_a_column_mapped_by_hand_loses_the_presets_note():
    opener = lambda: io.BytesIO(sample("shopify_options.csv"))  # noqa: E731
    fmt = detect_format(opener, mapping={"Option1 Value": "mpn"})
    assert (fmt.mapping["Option1 Value"], fmt.mapping["Option2 Value"]) == ("mpn", OPTION_VALUE)
