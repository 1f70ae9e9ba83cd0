"""Shopify's options, WooCommerce's attributes and Magento's additional attributes as colour and
size, PrestaShop's discounts as sale prices: stored fields,
counts and re-import, through the real job on every database; on PostgreSQL the staged reader
(SQL over the COPY) and Python's agree, and SQL derives the values itself."""
from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from background_tasks.status import TaskStatus
from imports.products.derive import Col, CompareAtPrice, Discounted, NamedOption, PairValue, ascii_check
from imports.products.presets import (
    COLOUR_OPTIONS,
    KNOWN_OPTION_NAMES,
    MAGENTO_COLOUR_CODES,
    MAGENTO_SIZE_CODES,
    SIZE_OPTIONS,
)
from imports.products.staged.statements import python_whitespace, whitespace_but_space
from tests.factories import VendorFactory
from wizamart.marketplace.models import Product

from .test_staged_parity import outcome, products

pytestmark = pytest.mark.django_db
FEEDS = Path(__file__).parent / "feeds"


def sample(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def counts(job) -> tuple:
    return job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected, job.rows_skipped


def stored(vendor, *fields) -> dict[str, tuple]:
    return {p["sku"]: tuple(p[f] for f in fields) for p in Product.objects.filter(vendor=vendor).values("sku", *fields)}


SHOPIFY = {  # sku: (title, color, size)
    "LS-S-WHT": ("Linen shirt", "White", "S"),
    "LS-M-WHT": ("Linen shirt", "White", "M"),
    "LS-M-SND": ("Linen shirt", "Sand", "M"),
    "WH-ROT": ("Wollmütze", "Rot", "Einheitsgröße"),
    "WH-BLAU": ("Wollmütze", "Blau", "Einheitsgröße"),
    "GC-50": ("Gift card", "", ""),
}
PRESTASHOP = {  # sku: (price, sale_price)
    "PS-TASSE": (Decimal("20.00"), Decimal("15.00")),  # amount, no dates
    "PS-THEIERE": (Decimal("48.00"), Decimal("36.00")),  # 25 %, running
    "PS-BOL": (Decimal("10.30"), Decimal("9.79")),  # 95 % of 10.30 = 9.785, rounded half up; 0000-00-00 bounds
    "PS-ASSIETTE": (Decimal("19.99"), Decimal("17.49")),  # 12.5 %, dates with a time
    "PS-PLAT": (Decimal("35.00"), None),  # ended
    "PS-PICHET": (Decimal("30.00"), None),  # not started
    "PS-CUILLERE": (Decimal("4.00"), None),  # more off than the price
    "PS-VASE": (Decimal("60.00"), None),  # no discount
    "PS-CARAFE": (Decimal("22.00"), Decimal("19.00")),  # amount and percent: the amount, as PrestaShop takes it
}
WOOCOMMERCE = {  # sku: (title, color, size); the variable products are skipped
    "WOO-HOODIE-RED-NO": ("Hoodie - Red, No", "Red", ""),
    "WOO-HOODIE-BLUE-YES": ("Hoodie - Blue, Yes", "Blue", ""),
    "WOO-TEE-M-BLK": ("T-Shirt - M, Black", "Black", "M"),
    "WOO-TEE-L-WHT": ("T-Shirt - L, White", "White", "L"),  # "SIZE", "colour": any case
    "WOO-BEANIE": ("Beanie", "Red", "One size"),  # attribute slugs pa_color, pa_size
    "WOO-BELT": ("Belt", "", ""),  # Material only
}
WOOCOMMERCE_FR = {
    "FR-ROBE-ROUGE-36": ("Robe d'été - Rouge, 36", "Rouge", "36"),
    "FR-ROBE-MARINE-38": ("Robe d'été - Bleu marine, 38", "Bleu marine", "38"),
}
WOOCOMMERCE_DE = {
    "DE-JACKE-S": ("Regenjacke - S", "Grün", "S"),
    "DE-JACKE-M": ("Regenjacke - M", "Grün", "M"),  # "GRÖSSE"
}
MAGENTO = {  # sku: (title, color, size); the configurable product is skipped
    "MG-TEE-S-BLU": ("Linen tee-S-Blue", "Blue", "S"),
    "MG-TEE-M-BLU": ("Linen tee-M-Blue", "Blue", "M"),  # pairs in another order
    "MG-BAG": ("Tote bag", "Black", ""),  # a comma inside another attribute's value
    "MG-SCARF": ("Scarf", "Red, dark", "One size"),  # a comma inside the colour
    "MG-BELT": ("Belt", 'Brown, "cognac"', "90"),  # quoted values ("Fields Enclosure")
    "MG-CAP": ("Cap", "", ""),  # no additional attributes
}
CASES = {  # file: (preset, fields, expected, rows skipped)
    "shopify_options.csv": ("shopify", ("title", "color", "size"), SHOPIFY, 0),
    "prestashop_discounts.csv": ("prestashop", ("price", "sale_price"), PRESTASHOP, 0),
    "woocommerce_attributes.csv": ("woocommerce", ("title", "color", "size"), WOOCOMMERCE, 2),
    "woocommerce_attributes_fr.csv": ("woocommerce", ("title", "color", "size"), WOOCOMMERCE_FR, 1),
    "woocommerce_attributes_de.csv": ("woocommerce", ("title", "color", "size"), WOOCOMMERCE_DE, 1),
    "magento_attributes.csv": ("magento", ("title", "color", "size"), MAGENTO, 1),
}


def _import_twice(run_import, name: str, code: str):
    preset, fields, expected, skipped = CASES[name]
    shop = VendorFactory(code=code)
    job = run_import(sample(name), for_vendor=shop)
    assert job.status == TaskStatus.COMPLETED, (job.error_message, job.warnings, job.rejected_sample)
    assert job.file_info["preset"] == preset
    assert counts(job) == (len(expected), len(expected), 0, 0, 0, skipped)
    assert stored(shop, *fields) == expected
    again = run_import(sample(name), for_vendor=shop)
    assert counts(again) == (len(expected), 0, 0, len(expected), 0, skipped)
    assert stored(shop, *fields) == expected
    return job, shop


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_imports_as_its_format_means_and_reimports_unchanged(run_import, name):
    _import_twice(run_import, name, "shop")


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(CASES))
def test_staged_and_python_readers_agree(run_import, settings, name):
    settings.IMPORTS_USE_COPY = True
    results = []
    for in_database in (True, False):
        settings.IMPORTS_PARSE_IN_DATABASE = in_database
        results.append(_import_twice(run_import, name, f"agree-{in_database}"))
    (staged, staged_shop), (python, python_shop) = results
    assert staged.file_info["reader"] == "postgresql", staged.file_info
    assert python.file_info["reader"] == "python", python.file_info
    assert outcome(staged) == outcome(python)
    assert products(staged_shop) == products(python_shop)


# --- each expression, SQL against Python, over many cells (PostgreSQL) -------------------------

def _sql_agrees(expr, rows: list[list[str]]) -> None:
    """Every row's value in SQL is Python's, and the checks let SQL derive it (no row left to Python)."""
    width = len(rows[0])
    params = {"ws": python_whitespace(), "ws_not_space": whitespace_but_space()}
    values = []
    for r, row in enumerate(rows):
        params.update({f"v{r}_{i}": value for i, value in enumerate(row)})
        values.append("(" + ", ".join(f"%(v{r}_{i})s::text" for i in range(width)) + ")")
    checks = " AND ".join(expr.checks(lambda index: f"c{index}")) or "TRUE"
    columns = ", ".join(f"c{i}" for i in range(width))
    statement = (
        f"SELECT {expr.sql(lambda index: f'c{index}')}, {checks} FROM (VALUES {', '.join(values)}) AS v({columns})"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchall()
    assert [value for value, _ in found] == [expr.py(row) for row in rows]
    assert all(derivable for _, derivable in found)


@pytest.mark.postgres
def test_named_options_sql_matches_python():
    names = ["Color", "COLOUR", "couleur", "Farbe", "FARBE", "Größe", "GRÖSSE", "grösse", "Size", "Maat", "Material", "",
             "GrÖSSE", "sIZE", "Title", "Kolour"]
    rows = [[a, "Red", b, "XL"] for a, b in itertools.product(names, names)]
    # Names SQL looks up as they are (known) and names it lowers first give the same answers.
    for spellings, known in itertools.product((COLOUR_OPTIONS, SIZE_OPTIONS), (frozenset(), KNOWN_OPTION_NAMES)):
        _sql_agrees(NamedOption((Col(0), Col(2)), (Col(1), Col(3)), spellings, known=known), rows)
    assert {"Size", "GRÖSSE", "Title", ""} <= KNOWN_OPTION_NAMES and "sIZE" not in KNOWN_OPTION_NAMES
    expr = NamedOption((Col(0), Col(2)), (Col(1), Col(3)), SIZE_OPTIONS)
    assert expr.py(["GRÖSSE", "L", "Farbe", "Rot"]) == "L"
    assert expr.py(["Material", "Wool", "Maat", "42"]) == "42"


@pytest.mark.postgres
def test_discounts_sql_matches_python():
    prices = ["20.00", "10.30", "19.99", "0.01", ""]
    amounts = ["", "0", "5", "25.5", "19.99 EUR"]
    percents = ["", "0", "5", "12.5", "100"]
    days = [("", ""), ("0000-00-00", "0000-00-00 00:00:00"), ("2026-01-01", "2026-06-30"),
            ("2026-06-30", ""), ("", "2026-06-29"), ("2026-06-30 10:00:00", "2026-06-30")]
    rows = [[p, a, r, s, e] for p, a, r, (s, e) in itertools.product(prices, amounts, percents, days)]
    expr = Discounted(Col(0), Col(1), Col(2), start=Col(3), end=Col(4), today="2026-06-30")
    _sql_agrees(expr, rows)
    assert expr.py(["10.30", "", "5", "", ""]) == "9.79"
    assert expr.py(["20.00", "5", "50", "2026-07-01", ""]) == ""
    assert expr.py(["20.00", "5", "50", "", "2026-06-30"]) == "15.00"


@pytest.mark.postgres
def test_compare_at_prices_sql_matches_python():
    prices = ["", "10.00", "9", "10.00 EUR", "abc", "12,50"]
    compares = ["", "12.00", "9.99", "10.00", "10.50 EUR", "10"]
    rows = [[p, c] for p, c in itertools.product(prices, compares)]
    for role in ("price", "sale"):
        _sql_agrees(CompareAtPrice(Col(0), Col(1), role), rows)
    assert CompareAtPrice(Col(0), Col(1), "sale").py(["10.00", "12.00"]) == "10.00"
    assert CompareAtPrice(Col(0), Col(1), "price").py(["10.00", ""]) == "10.00"


@pytest.mark.postgres
def test_the_ascii_check_finds_usual_values_and_reads_others_as_before():
    values = ["", "1", "variable", "Variable", "simple, variable", "Größe", "in\tstock", "yes\n", "\x7f", "backorder"]
    with connection.cursor() as cursor:
        for value in values:
            cursor.execute(f"SELECT {ascii_check('%(v)s::text')}, %(v)s::text ~ '^[ -~]*$'", {"v": value})
            fast, plain = cursor.fetchone()
            assert fast == plain == all(" " <= ch <= "~" for ch in value), value


@pytest.mark.postgres
def test_additional_attributes_sql_matches_python():
    cells = [
        "color=Red,size=M", "size=M,color=Red", "material=Cotton,color=Red", "color=Red, dark,size=XL",
        "material=Leather, Canvas,color=Black", "color=,size=", "colour=Blau,size=42", "color=a=b", "xcolor=Red",
        "size=S|M,color=Blue|Green", " color = Red", "color=Red ,size= M ", "COLOR=Red", "", "color=Grün,size=Größe L",
        "material=Cotton,\ncolor=Red", "color=Red,color=Blue",
    ]
    rows = [[cell] for cell in cells]
    for codes in (MAGENTO_COLOUR_CODES, MAGENTO_SIZE_CODES):
        _sql_agrees(PairValue(Col(0), codes), rows)
    colour = PairValue(Col(0), MAGENTO_COLOUR_CODES)
    assert colour.py(["material=Leather, Canvas,color=Black"]) == "Black"
    assert colour.py(["color=Red, dark,size=XL"]) == "Red, dark"
    assert colour.py(["size=M"]) == ""


def test_quoted_additional_attributes_are_read_in_python():
    """With the export's "Fields Enclosure" the values are quoted: a comma or a quote may be in them."""
    colour, size = PairValue(Col(0), MAGENTO_COLOUR_CODES), PairValue(Col(0), MAGENTO_SIZE_CODES)
    cell = 'material="Cotton, recycled",color="Brown, ""cognac""",size="M"'
    assert (colour.py([cell]), size.py([cell])) == ('Brown, "cognac"', "M")
    assert colour.py(['material="Wool, color=Red"']) == ""
    assert colour.checks(lambda index: f"c{index}") == ["strpos(c0, '=\"') = 0"]
