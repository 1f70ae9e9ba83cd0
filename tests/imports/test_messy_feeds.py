"""Messy feeds: encodings, delimiters, headers, quoting, decimal commas, rejected rows, duplicates."""
import csv

import pytest

from background_tasks.status import TaskStatus
from imports.products.reading import CELL_LIMIT
from wizamart.marketplace.models import Product

from .conftest import assert_counts_add_up

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("write_path")]

ROWS = [
    "id,title,description,price,quantity",
    "LUX-1,Crème brûlée à la vanille,Délicieux,19.99 EUR,4",
    "LUX-2,Bière Bofferding,Luxembourgeoise,2.50 EUR,120",
]


def products(vendor):
    return {p.sku: p for p in Product.objects.filter(vendor=vendor)}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"])
def test_encoding_is_detected(run_import, feed_bytes, vendor, encoding):
    job = run_import(feed_bytes(*ROWS, encoding=encoding))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created) == (2, 2)
    assert products(vendor)["LUX-1"].title == "Crème brûlée à la vanille"
    assert_counts_add_up(job)


def test_cp1252_only_characters_are_read(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes("id,title,price", "E-1,Prix en € – “spécial”,5 EUR", encoding="cp1252"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert products(vendor)["E-1"].title == "Prix en € – “spécial”"
    assert job.file_info["encoding"] == "cp1252"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(run_import, feed_bytes, vendor, delimiter):
    lines = [
        delimiter.join(["id", "title", "price", "quantity"]),
        delimiter.join(["D-1", "Savon", '"4,50 EUR"' if delimiter == "," else "4,50 EUR", "3"]),
    ]
    job = run_import(feed_bytes(*lines))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    product = products(vendor)["D-1"]
    assert str(product.price) == "4.50"
    assert product.quantity == 3


def test_excel_sep_line_names_the_delimiter(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes("sep=;", "id;title;price", "S-1;Tasse;3,20 EUR", newline="\r\n"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.rows_total == 1
    assert str(products(vendor)["S-1"].price) == "3.20"


def test_header_case_spaces_and_aliases(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes(" SKU ,Product Name,PRICE,Stock, Sale Price ,g:brand", "H-1,Lampe,30 EUR,7,25 EUR,Lumi"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    product = products(vendor)["H-1"]
    assert (product.title, product.quantity, str(product.sale_price), product.brand) == ("Lampe", 7, "25.00", "Lumi")


def test_canonical_column_beats_alias(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes("name,id,title,price", "Stuhl,C-1,Chaise,40 EUR"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert products(vendor)["C-1"].title == "Chaise"


def test_a_sku_beats_an_id_as_the_key(run_import, feed_bytes, vendor):
    # Both in one file: a shop's database number and the product's reference.
    job = run_import(feed_bytes("id,sku,title,price", "9,C-1,Chaise,40 EUR"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert list(products(vendor)) == ["C-1"]


def test_quoted_fields_with_newlines_and_line_numbers(run_import, feed_bytes, vendor):
    job = run_import(
        feed_bytes(
            "id,title,description,price",
            'Q-1,Nappe,"Ligne un,\nligne deux ""citée""",12 EUR',
            "Q-2,,sans titre,3 EUR",
        )
    )

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert products(vendor)["Q-1"].description == 'Ligne un,\nligne deux "citée"'
    # Q-2 starts on line 4: the quoted newline of Q-1 counts as a line of the file.
    assert job.rejected_sample == [{"line": 4, "sku": "Q-2", "error": "empty title"}]


def test_decimal_commas_and_currencies(run_import, feed_bytes, vendor):
    job = run_import(
        feed_bytes(
            "id;title;price;sale_price",
            "P-1;Un;19,99 EUR;15,5 EUR",
            "P-2;Deux;EUR 1.234,50;",
            "P-3;Trois;€7;",
            "P-4;Quatre;12.5 USD;",
        )
    )

    assert job.status == TaskStatus.COMPLETED, job.error_message
    got = {sku: (str(p.price), p.currency, p.sale_price and str(p.sale_price)) for sku, p in products(vendor).items()}
    assert got == {
        "P-1": ("19.99", "EUR", "15.50"),
        "P-2": ("1234.50", "EUR", None),
        "P-3": ("7.00", "EUR", None),
        "P-4": ("12.50", "USD", None),
    }


def test_unknown_extra_columns_are_ignored(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes("id,title,price,internal_note,warehouse", "X-1,Vase,9 EUR,fragile,B2"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.file_info["ignored_columns"] == ["internal_note", "warehouse"]
    assert products(vendor)["X-1"].title == "Vase"


def test_short_and_blank_rows(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes("id,title,price,quantity", "", "B-1,Bol,3 EUR", "", ""))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.rows_total == 1
    assert products(vendor)["B-1"].quantity is None


def test_bad_rows_are_rejected_and_the_rest_imported(run_import, feed_bytes, vendor):
    job = run_import(
        feed_bytes(
            "id,title,price,quantity,availability",
            "OK-1,Bon,10 EUR,1,in stock",
            ",Sans sku,10 EUR,1,",
            "R-2,,10 EUR,1,",
            "R-3,Prix,dix euros,1,",
            "R-4,Négatif,-5 EUR,1,",
            "R-5,Stock,10 EUR,beaucoup,",
            "R-6,Vide,,1,",
            "R-7,Dispo,10 EUR,1,peut-être",
            "OK-2,Bon aussi,10 EUR,,out of stock",
        )
    )

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (job.rows_total, job.rows_created, job.rows_rejected) == (9, 2, 7)
    assert_counts_add_up(job)
    reasons = {row["line"]: row["error"] for row in job.rejected_sample}
    assert reasons == {
        3: "empty sku (id)",
        4: "empty title",
        5: "'dix euros' is not a price like '19.99 EUR'",
        6: "negative price '-5 EUR'",
        7: "quantity 'beaucoup' is not a whole number",
        8: "missing price",
        9: "unknown availability 'peut-être'",
    }
    assert products(vendor)["OK-2"].availability == Product.Availability.OUT_OF_STOCK
    assert job.progress_message == "9 rows: 2 created, 0 updated, 0 unchanged, 7 rejected"


def test_too_long_value_is_rejected(run_import, feed_bytes, vendor):
    job = run_import(feed_bytes("id,title,price", f"{'S' * 101},Long,1 EUR", "L-2,Court,1 EUR"))

    assert (job.rows_created, job.rows_rejected) == (1, 1)
    assert job.rejected_sample[0]["error"] == "sku is longer than 100 characters"


def test_duplicate_skus_last_wins_with_a_warning(run_import, feed_bytes, vendor, settings):
    settings.IMPORTS_BATCH_SIZE = 2  # repeats inside one batch and across batches
    job = run_import(
        feed_bytes(
            "id,title,price",
            "DUP-1,Premier,1 EUR",
            "DUP-1,Deuxième,2 EUR",
            "U-1,Unique,5 EUR",
            "DUP-1,Dernier,3 EUR",
            "DUP-2,Pareil,4 EUR",
            "DUP-2,Pareil,4 EUR",
        )
    )

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert_counts_add_up(job)
    # A first import: each sku's later rows count as repeated, not as updated or unchanged.
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_repeated) == (6, 3, 0, 0, 3)
    assert job.duplicate_skus == 3
    assert products(vendor)["DUP-1"].title == "Dernier"
    assert str(products(vendor)["DUP-1"].price) == "3.00"
    assert Product.objects.filter(vendor=vendor).count() == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"  \n\n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4, "not a text (CSV) file"),
        (b"hello world\nfoo bar\n", "No usable header row"),
        (b"id,title,quantity\nA,B,1\n", "The required column 'price' is missing"),
        (b"sku;name\nA;B\n", "The required column 'price' is missing"),
        (b"brand,gtin\nA,B\n", "The required columns 'id', 'title', 'price' are missing"),
    ],
)
def test_unusable_file_fails_with_a_readable_message(run_import, vendor, content, message):
    job = run_import(content)

    assert job.status == TaskStatus.FAILED
    assert message in job.error_message
    assert Product.objects.filter(vendor=vendor).count() == 0


def test_header_only_feed_completes_with_a_warning(run_import, feed_bytes):
    job = run_import(feed_bytes("id,title,price"))

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert job.rows_total == 0
    assert job.warnings == ["The file has a header but no product rows: nothing was imported."]


def test_backslashes_tabs_and_stray_nul_bytes(run_import, vendor):
    content = b'id,title,description,price\nB-1,Chemin C:\\\\dossier\\n,"Un\ttab\r\nCR",1 EUR\nB-2,Nul\x00 ici,,2 EUR\n'

    job = run_import(content)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    product = products(vendor)["B-1"]
    assert product.title == "Chemin C:\\\\dossier\\n"
    assert product.description == "Un\ttab\r\nCR"
    assert products(vendor)["B-2"].title == "Nul ici"


@pytest.fixture
def small_csv_field_limit():
    """Python's csv limit lowered (its default is raised to reading.CSV_FIELD_LIMIT), then restored."""
    before = csv.field_size_limit(100_000)
    yield
    csv.field_size_limit(before)


def test_unreadable_csv_midway_fails_after_importing_the_batches_before_it(
    run_import, feed_bytes, vendor, settings, small_csv_field_limit
):
    settings.IMPORTS_BATCH_SIZE = 2
    good = [f"OK-{n},Produit {n},{n} EUR" for n in range(1, 5)]
    huge = "BAD-1,Trop long," + "9" * 200_000 + " EUR"

    job = run_import(feed_bytes("id,title,price", *good, huge, "OK-9,Après,1 EUR"))

    assert job.status == TaskStatus.FAILED
    assert "could not be read as CSV after line 5" in job.error_message
    assert "Rows before it were imported." in job.error_message
    assert sorted(products(vendor)) == ["OK-1", "OK-2", "OK-3", "OK-4"]


@pytest.mark.parametrize("column", ["description", "title", "extra"])
def test_an_oversized_value_rejects_its_row_and_the_rows_around_it_import(run_import, feed_bytes, vendor, settings, column):
    settings.IMPORTS_BATCH_SIZE = 2
    good = [f"OK-{n},Produit {n},,{n} EUR,x" for n in range(1, 5)]
    long = "é" * (CELL_LIMIT + 1)  # beyond Python csv's own default limit (131,072) too
    cells = {"description": f'BIG-1,Grand,"{long}",1 EUR,x', "title": f"BIG-1,{long},,1 EUR,x",
             "extra": f"BIG-1,Grand,,1 EUR,{long}"}

    job = run_import(feed_bytes("id,title,description,price,extra", *good, cells[column], "OK-9,Après,,1 EUR,x"))

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS, job.error_message
    assert job.rejected_sample == [
        {"line": 6, "sku": "BIG-1", "error": f"a value is longer than {CELL_LIMIT:,} characters"}
    ]
    assert sorted(products(vendor)) == ["OK-1", "OK-2", "OK-3", "OK-4", "OK-9"]


def test_a_value_longer_than_its_field_rejects_its_row_with_its_line(run_import, feed_bytes, vendor):
    title = "t" * 600  # Product.title: 500 characters
    job = run_import(feed_bytes("id,title,price", "A-1,Un,1 EUR", f'"LONG-1","{title}",1 EUR', "A-2,Deux,2 EUR"))

    assert job.rejected_sample == [{"line": 3, "sku": "LONG-1", "error": "title is longer than 500 characters"}]
    assert sorted(products(vendor)) == ["A-1", "A-2"]
