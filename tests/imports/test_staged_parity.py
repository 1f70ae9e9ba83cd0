"""Reading a feed in PostgreSQL (COPY, plain rows converted in SQL) gives what reading it in Python gives.

Each messy feed is imported twice, into two vendors holding the same products: once with the
file staged in PostgreSQL (IMPORTS_PARSE_IN_DATABASE) and once read row by row in Python. The
whole outcome must be equal: counts, rejected rows with their line numbers, warnings, the error
report's bytes and every product field. Each case also names the reader it must get, so that a
case meant for the fast path cannot pass by quietly falling back to Python.
"""
from __future__ import annotations

import pytest

from background_tasks.status import TaskStatus
from imports.products.reading import CELL_LIMIT
from imports.products.services import private_storage
from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.models import Product

from .conftest import no_staging_tables

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HEADER = "id,title,description,price,sale_price,availability,condition,brand,gtin,quantity"
PG, PY = "postgresql", "python"


def feed(*lines: str, nl: str = "\n", end: bool = True, encoding: str = "utf-8") -> bytes:
    return (nl.join(lines) + (nl if end else "")).encode(encoding)


def rows(*lines: str, header: str = HEADER, **kwargs) -> bytes:
    return feed(header, *lines, **kwargs)


BASE = [
    "P-1,Crème brûlée,Délicieuse,19.99 EUR,,in stock,new,Lux,4006381333931,4",
    "P-2,Inchangé,,5.00 EUR,,in_stock,new,,,1",  # equal to the stored product: unchanged
    "N-1,Nouveau,,3 EUR,2.50 EUR,out of stock,used,Maison,,12",
    "N-2,,,3 EUR,,,,,,1",  # rejected: empty title
    "N-3,Prix faux,,trois euros,,,,,,1",  # rejected: price
]
LONG = "x" * 600


def _sep(delimiter: str) -> bytes:
    # The same rows with another delimiter (their values hold no comma).
    return feed(*[line.replace(",", delimiter) for line in [HEADER, *BASE]])


# (id, file bytes, reader expected with the fast path on, import options)
CASES = [
    ("clean-utf8", rows(*BASE), PG, {}),
    ("bom", b"\xef\xbb\xbf" + rows(*BASE), PG, {}),
    ("cp1252", rows(*BASE, "C-1,Prix en € – “spécial”,,5 EUR,,,,,,", encoding="cp1252"), PG, {}),
    ("latin-1", rows(*BASE, "L-1,Ça coûte déjà,,5 EUR,,,,,,", encoding="latin-1"), PG, {}),
    # Not cp1252 (0x81 is undefined there): the detector's guess, a code page PostgreSQL is not given.
    ("guessed-code-page", rows(*BASE, "L-1,Ça coûte\x81,,5 EUR,,,,,,", encoding="latin-1"), PY, {}),
    ("utf-16", rows(*BASE, encoding="utf-16"), PY, {}),
    ("semicolon", _sep(";"), PG, {}),
    ("tab", _sep("\t"), PG, {}),
    ("pipe", _sep("|"), PG, {}),
    ("excel-sep-line", feed("sep=;", *[line.replace(",", ";") for line in [HEADER, *BASE]], nl="\r\n"), PY, {}),
    (
        "quoted-newlines",
        rows(
            'Q-1,"Deux\nlignes","une\r\ndeux\r\ntrois",5 EUR,,,,,,1',
            "Q-2,,,5 EUR,,,,,,1",
            'Q-3,"a\n\nb",,pas un prix,,,,,,1',
            '"Q-4\n",Titre,"\r",5 EUR,,,,,,1',
            "Q-5,Titre,,5 EUR,,peut-être,,,,1",
            *BASE,
        ),
        PG,
        {},
    ),
    ("crlf", rows(*BASE, 'R-1,"in\r\nside",,1 EUR,,,,,,x', nl="\r\n"), PG, {}),
    ("no-final-newline", rows(*BASE, "Z-1,Fin,,1 EUR,,,,,,abc", end=False), PG, {}),
    ("trailing-blank-lines", rows(*BASE) + b"\n\n\r\n", PG, {}),
    ("blank-line-in-middle", rows(*BASE[:2], "", *BASE[2:]), PY, {}),
    ("ragged-rows", rows(*BASE, "G-1,Court,,1 EUR", "G-2,Long,,1 EUR,,,,,,1,extra,more"), PY, {}),
    ("quote-in-unquoted-value", rows(*BASE, 'I-1,12" or 14" pizza,,9 EUR,,,,,,1'), PY, {}),
    ("text-after-closing-quote", rows(*BASE, 'I-2,"ab"c,,9 EUR,,,,,,1', 'I-3,"a""b"" c",,9 EUR,,,,,,1'), PG, {}),
    (
        "whitespace-at-edges",
        rows(
            "  W-1 ,\tTab\t, desc ,  4.50 EUR , 4.00 EUR ,  in stock , new ,\u00a0Lux\u00a0,\u2003123\u2003,\u3000 7 \u3000",
            "W-2\u00a0,\u2003Em space,,\u30005 EUR\u3000,,,,,,\u00a012",
            '" W-3 ","\u00a0Quoted\u00a0"," \n ",5 EUR,,"\u2003in stock",,,," 3"',
            "W-4,T\u00a0i t\u2003le,,5 EUR,,,,,,",
            "\u00a0,Sans sku,,5 EUR,,,,,,",
            *BASE,
        ),
        PG,
        {},
    ),
    (
        "exported-formula-cells",
        rows(
            "'=SUM(1),'+33 6 12,,5 EUR,,,,'@brand,,1",
            "'+33,\"'=HYPERLINK(\"\"x\"\")\",,5 EUR,,,,,,1",
            "''quoted,'-minus,,5 EUR,,,,,,1",
            "'plain,'plain title,,5 EUR,,,,,,1",
            "=SUM(1),Doublon exporté,,6 EUR,,,,,,2",
            *BASE,
        ),
        PG,
        {},
    ),
    (
        "formula-cells-after-whitespace",
        rows(
            " '=SUM(2), '+33 7,,5 EUR,,,,\u00a0'@brand,,1",
            "S-1,\"\u00a0'=HYPERLINK(1)\",,5 EUR,,,,,,1",
            "=SUM(2),Doublon,,6 EUR,,,,,,2",
            *BASE,
        ),
        PG,
        {},
    ),
    (
        "duplicate-skus",
        rows(
            "D-A,Premier,,1 EUR,,,,,,1",
            "D-B,Autre,,1 EUR,,,,,,1",
            "D-A,Second,,2 EUR,,,,,,1",
            "D-V,Valide,,1 EUR,,,,,,1",
            "D-V,Rejeté,,pas de prix,,,,,,1",
            "D-R,Rejeté,,,,,,,,1",
            "D-R,Valide ensuite,,4 EUR,,,,,,1",
            "D-S,Même,,1 EUR,,,,,,1",
            "D-S,Même,,1 EUR,,,,,,1",
            " D-S ,Même,,1 EUR,,,,,,1",
            "P-2,Inchangé,,5.00 EUR,,in_stock,new,,,1",
            *BASE,
            "D-A,Troisième,,3 EUR,,,,,,3",
        ),
        PG,
        {},
    ),
    (
        "availability-and-condition-spellings",
        rows(
            *BASE,
            "A-1,T,,1 EUR,,In Stock,New,,,1",
            "A-2,T,,1 EUR,,IN_STOCK,USED,,,1",
            "A-3,T,,1 EUR,,maybe,,,,1",
            "A-4,T,,1 EUR,,Out-Of-Stock,Refurbished,,,1",
            "A-5,T,,1 EUR,,pre order,,,,1",
            "A-6,T,,1 EUR,,preorder,broken,,,1",
            "A-7,T,,1 EUR,,Sold Out,,,,1",
            "A-8,T,,1 EUR,,in  stock,,,,1",
            "A-9,T,,1 EUR,,IN STOCK,NEW,,,1",
            "A-10,T,,1 EUR,,backorder,nEw,,,1",
            "A-11,T,,1 EUR,,available,,,,1",
        ),
        PG,
        {},
    ),
    (
        "prices",
        rows(
            *BASE,
            'M-1,T,,"19,99 EUR",,,,,,1',
            "M-2,T,,€5,,,,,,1",
            'M-3,T,,"1.234,50 EUR",,,,,,1',
            "M-4,T,,-1 EUR,,,,,,1",
            "M-5,T,,-1.00 EUR,,,,,,1",
            f"M-6,T,,{'9' * 200} EUR,,,,,,1",
            "M-7,T,,,,,,,,1",
            "M-8,T,,9999999999.99 EUR,,,,,,1",
            "M-9,T,,99999999999 EUR,,,,,,1",
            "M-10,T,,19.999 EUR,,,,,,1",
            "M-11,T,,19.99 eur,,,,,,1",
            "M-12,T,,19.99,,,,,,1",
            "M-13,T,,19.99 EUR,abc,,,,,1",
            'M-14,T,,19.99 EUR,"4,50",,,,,1',
            "M-15,T,,19.99 EUR,-2 EUR,,,,,1",
            "M-16,T,,EUR 7,USD 3,,,,,1",
            "M-17,T,,١٢ EUR,,,,,,1",
            "M-18,T,,0.5 EUR,00.10 EUR,,,,,1",
        ),
        PG,
        {},
    ),
    (
        "quantities",
        rows(
            *BASE,
            "Q-1,T,,1 EUR,,,,,,12",
            "Q-2,T,,1 EUR,,,,,,007",
            "Q-3,T,,1 EUR,,,,,,12.0",
            "Q-4,T,,1 EUR,,,,,,abc",
            "Q-5,T,,1 EUR,,,,,,1e3",
            "Q-6,T,,1 EUR,,,,,,9999999999",
            "Q-7,T,,1 EUR,,,,,,999999999",
            "Q-8,T,,1 EUR,,,,,,-3",
            'Q-9,T,,1 EUR,,,,,,"12,0"',
            "Q-10,T,,1 EUR,,,,,,١٢",
            "Q-11,T,,1 EUR,,,,,,2147483648",
            "Q-12,T,,1 EUR,,,,,,12.5",
        ),
        PG,
        {},
    ),
    (
        "values-too-long",
        rows(
            *BASE,
            f"T-1,{LONG},,1 EUR,,,,,,1",
            f"{'s' * 300},T,,1 EUR,,,,,,1",
            f"T-3,T,,1 EUR,,,,{'b' * 300},,1",
            f"T-4,{'é' * 255},,1 EUR,,,,,,1",
            f"T-5,{'é' * 256},,1 EUR,,,,,,1",
            f"T-6,T,{'d' * 5000},1 EUR,,,,,{'9' * 60},1",
        ),
        PG,
        {},
    ),
    ("empty-and-space-rows", rows(BASE[0], ",,,,,,,,,", "   ,  ,,,,,,,, ", BASE[1], '"","",,,,,,,,', *BASE[2:]), PG, {}),
    ("end-of-data-marker", rows(*BASE[:2], "\\.", *BASE[2:]), PY, {}),
    ("nul-byte", rows(*BASE, "U-1,Nul\x00 byte,,1 EUR,,,,,,1"), PY, {}),
    ("dry-run", rows(*BASE, "P-1,Crème brûlée,Délicieuse,19.99 EUR,,in stock,new,Lux,4006381333931,4"), PG, {"dry_run": True}),
    ("deactivate-missing", rows(*BASE, "X-1,  Nouveau ,,1 EUR,,,,,,"), PG, {"deactivate_missing": True}),
    ("deactivate-missing-dry-run", rows(*BASE), PG, {"deactivate_missing": True, "dry_run": True}),
    ("deactivate-missing-all-rejected", rows(*BASE[3:]), PG, {"deactivate_missing": True}),
    ("few-columns", feed("sku;name;price", "K-1;Kit;1 EUR", "K-2;;1 EUR", "K-1; Kit ;2 EUR"), PG, {}),
    # A value beyond the cell limit (and beyond Python csv's default field limit): its row alone is rejected.
    ("oversized-cell", rows(BASE[0], f'O-1,Grand,"{"é" * (CELL_LIMIT + 1)}",1 EUR,,,,,,1', *BASE[1:]), PG, {}),
    ("prices-without-currency", rows("C-1,Sans devise,,19.9,15,,,,,1", "C-2,Virgule,,\"19,90\",,,,,,1", *BASE), PG, {}),
    # Shop exports: presets derive values in SQL as in Python (lists, flags, parents, groups).
    (
        "woocommerce-preset",
        feed(
            'ID,Type,SKU,Name,"In stock?",Stock,"Sale price","Regular price",Images,"Weight (kg)"',
            '1,variable,P-1,Parent,1,,,," a.jpg , b.jpg",',
            "2,variation,P-1-S,Taille S,0,3,8,10,,0.5",
            '3,"simple, virtual",,Sans sku,backorder,,,5,"x.jpg,,y.jpg\u00a0, z.jpg",',
            "4,grouped,G-1,Groupe,1,,,,,",
            "5,simple,P-2,Prix faux,1,,,dix,,",
            "6,simple,P-3,Drapeau,peut-être,,,4,,",
        ),
        PG,
        {},
    ),
    (
        "shopify-preset",
        feed(
            "Handle,Title,Body (HTML),Vendor,Option1 Value,Variant SKU,Variant Price,Variant Compare At Price,"
            "Variant Barcode,Image Src,Variant Image",
            'h1,Écharpe,"<p>deux\nlignes</p>",Lux,Rouge,S-R,39.00,49.00,4.00638E+12,https://i/1.jpg,',
            "h1,,,,Bleu,S-B,49.00,,,https://i/2.jpg,https://i/b.jpg",
            ",,,,,,,,,,",  # a blank record inside the group: neither ends nor joins it
            "h1,,,,,,,,,https://i/3.jpg,",
            "h2,Bougie,,Maison,Default Title,,18.50,,,,",
            "h2,,,,,,,,,https://i/4.jpg,",
            "h1,,,,Vert,S-V,quarante,50,,,",
            "h3,Solde,,,Default Title,S-3,10,9 EUR,,,",
        ),
        PG,
        {},
    ),
    (
        # Blank records before the first group and between groups, keys and values with spaces
        # around them (trimmed in SQL too), a group whose first record has no title.
        "shopify-preset-edges",
        feed(
            "Handle,Title,Body (HTML),Vendor,Option1 Value,Variant SKU,Variant Price,Image Src",
            ",,,,,,,",
            ",,,,,,,",
            " h1 ,,Sans titre,Lux,S,E-1,5, https://i/1.jpg ",
            "h1, Titre tardif ,,,M,E-2,6,https://i/2.jpg",
            ",,,,,,,",
            "h2,Autre,, Maison ,S,E-3,7,",
            "h2,,,,,,,https://i/3.jpg",
            "h2,,,,M,E-4,8,",
        ),
        PG,
        {},
    ),
    ("shopify-preset-blank-only", feed("Handle,Title,Variant SKU,Variant Price", ",,,", ",,,"), PG, {}),
    (
        "magento-preset",
        feed(
            "sku,store_view_code,attribute_set_code,product_type,name,price,special_price,qty,is_in_stock,"
            "base_image,additional_images",
            "M-C,,Default,configurable,Veste,,,0,1,/c.jpg,",
            'M-S,,Default,simple,Veste S,89,69,14,1,/s.jpg,"/s.jpg,/s2.jpg"',
            "M-S,fr,Default,simple,Veste S FR,,,,,,",
            "M-M,,Default,simple,Veste M,89,,0,0,,",
        ),
        PG,
        {},
    ),
]


def products(vendor) -> list[tuple]:
    fields = [f.name for f in Product._meta.fields if f.name not in ("id", "vendor", "created_at", "updated_at")]
    return list(Product.objects.filter(vendor=vendor).order_by("sku").values_list(*fields))


def outcome(job) -> dict:
    report = b""
    if job.error_report:
        with private_storage().open(job.error_report, "rb") as f:
            report = f.read()
    return {
        "status": job.status,
        "counts": (
            job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected,
            job.rows_deactivated, job.duplicate_skus, job.rows_repeated, job.rows_skipped,
        ),
        "rejected_sample": job.rejected_sample,
        "warnings": job.warnings,
        "error_message": job.error_message,
        "error_report": report,
        "file": {k: v for k, v in job.file_info.items() if k not in ("reader", "python_reader_because")},
    }


def import_with(run_import, settings, content: bytes, options: dict, in_database: bool, first: bool = False):
    """Import into a vendor holding products (records are compared with them), or into a vendor
    without any (``first``: a first import, whose batches check the records as they write them)."""
    settings.IMPORTS_PARSE_IN_DATABASE = in_database
    vendor = VendorFactory(code=f"parity-{'db' if in_database else 'py'}")
    if not first:
        ProductFactory(vendor=vendor, sku="P-1", title="Ancien", price="5", quantity=1)
        ProductFactory(vendor=vendor, sku="P-2", title="Inchangé", price="5", quantity=1, availability="in_stock")
        ProductFactory(vendor=vendor, sku="GONE", title="Plus vendu")
    job = run_import(content, for_vendor=vendor, **options)
    return job, vendor


@pytest.mark.parametrize("batch_size", [2, 5_000])
@pytest.mark.parametrize(("content", "reader", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_database_and_python_readers_agree(run_import, settings, content, reader, options, batch_size):
    settings.IMPORTS_BATCH_SIZE = batch_size
    assert_readers_agree(run_import, settings, content, reader, options)


@pytest.mark.parametrize("batch_size", [2, 5_000])
@pytest.mark.parametrize(("content", "reader", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_readers_agree_on_a_first_import(run_import, settings, content, reader, options, batch_size):
    settings.IMPORTS_BATCH_SIZE = batch_size
    assert_readers_agree(run_import, settings, content, reader, options, first=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", [False, True], ids=["compared", "first-import"])
@pytest.mark.parametrize(("content", "reader", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_readers_agree_when_a_second_connection_runs_every_other_batch(
    run_import, settings, second_connections, content, reader, options, first
):
    # Committed work (not the test's transaction): a second connection takes its share.
    settings.IMPORTS_BATCH_SIZE = 2
    staged = assert_readers_agree(run_import, settings, content, reader, options, first=first)
    if reader == PG and staged.rows_total > 2:
        assert len(second_connections["answers"]) >= 2  # the repeated skus, and at least one batch
    assert no_staging_tables()


def assert_readers_agree(run_import, settings, content, reader, options, first: bool = False):
    settings.IMPORTS_USE_COPY = True
    staged, staged_vendor = import_with(run_import, settings, content, options, in_database=True, first=first)
    python, python_vendor = import_with(run_import, settings, content, options, in_database=False, first=first)

    assert staged.file_info.get("reader") == reader, staged.file_info
    assert python.file_info.get("reader") == PY
    assert "python_reader_because" not in python.file_info  # staging was not even tried
    if reader == PY:
        assert staged.file_info.get("python_reader_because")
    assert outcome(staged) == outcome(python)
    assert products(staged_vendor) == products(python_vendor)
    assert staged.status in TaskStatus.succeeded(), staged.error_message
    return staged


def test_cases_cover_rejections_and_both_readers():
    assert len(CASES) >= 25
    assert {reader for _, _, reader, _ in CASES} == {PG, PY}
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("content", "because"),
    [
        (rows(*BASE, encoding="utf-16"), "encoding utf-16"),
        (feed("sep=;", "id;title;price", "S-1;T;1 EUR"), "a line before the header"),
        (rows(*BASE, 'I-1,12" or 14" pizza,,9 EUR,,,,,,1'), "a quote inside an unquoted value"),
        (rows(*BASE, "U-1,Nul\x00 byte,,1 EUR,,,,,,1"), "a NUL byte"),
        (rows(*BASE[:2], "\\.", *BASE[2:]), "a line PostgreSQL reads as the end of its data"),
        (rows(*BASE, "G-1,Court,,1 EUR"), "the server could not read it"),
        (rows(*BASE, 'Q-1,"never closed,,1 EUR,,,,,,1'), "a quoted value is not closed"),
    ],
)
def test_fallback_reason_is_recorded(run_import, settings, content, because):
    settings.IMPORTS_USE_COPY = True
    settings.IMPORTS_PARSE_IN_DATABASE = True
    job = run_import(content)

    assert job.file_info["reader"] == PY
    assert job.file_info["python_reader_because"].startswith(because), job.file_info


def test_line_numbers_count_line_breaks_inside_quotes(run_import, settings):
    """Pinned, not only compared: both readers could agree on a wrong line."""
    settings.IMPORTS_USE_COPY = True
    settings.IMPORTS_PARSE_IN_DATABASE = True
    settings.IMPORTS_BATCH_SIZE = 2
    content = rows(
        'Q-1,"a\nb","c\r\nd\re",5 EUR,,,,,,1',  # lines 2-5 (\r\n is one line break)
        "Q-2,,,5 EUR,,,,,,1",  # line 6
        ",,,,,,,,,",  # line 7: skipped, still a line
        'Q-3,"x\n\ny",,bad,,,,,,1',  # lines 8-10
        "Q-4,T,,1 EUR,,,,,,1",
        "Q-5,T,,1 EUR,,,,,,q",  # line 12
        nl="\r\n",
    )
    job = run_import(content)

    assert job.file_info["reader"] == PG
    assert [(r["line"], r["sku"]) for r in job.rejected_sample] == [(6, "Q-2"), (8, "Q-3"), (12, "Q-5")]


@pytest.mark.parametrize("bad_line", ["G-1,Court,,1 EUR", "", "X-1,Trop,,1 EUR,,,,,,1,extra"])
def test_server_refusing_a_segment_falls_back_without_hanging(run_import, settings, monkeypatch, bad_line):
    """The file is read ahead in chunks while COPY runs: when the server refuses a segment, the
    reading ahead must stop too (it once waited for ever to hand over its last chunks)."""
    from imports.products.staged import copying as staged

    monkeypatch.setattr(staged, "CHUNK_SIZE", 64)
    monkeypatch.setattr(staged, "SEGMENT_SIZE", 256)
    settings.IMPORTS_USE_COPY = True
    settings.IMPORTS_PARSE_IN_DATABASE = True
    lines = [f"B-{i},Titre {i},,{i} EUR,,,,,,{i}" for i in range(40)]
    for at in range(0, 40, 2):  # the refused segment anywhere, the reading ahead at any point
        job = run_import(rows(*lines[:at], bad_line, *lines[at:]))

        assert job.file_info["reader"] == PY, at
        assert job.file_info["python_reader_because"].startswith("the server could not read it")
        assert job.status in TaskStatus.succeeded()
        assert job.rows_total == 40 + (bad_line.count(",") > 0)


@pytest.mark.django_db
def test_cp1252_past_the_sample_is_found_and_read_by_postgresql(run_import, vendor, settings):
    """The start of the file reads as UTF-8; PostgreSQL refuses a later byte; the whole file is then
    read to find its real encoding (cp1252), and staged again in it."""
    rows = [f"P-{n:06d},Produit {n},{n % 90 + 1}.50 EUR".encode("ascii") for n in range(12_000)]
    assert sum(map(len, rows)) > 300 * 1024  # beyond the 256 KB the format is detected from
    content = b"id,title,price\n" + b"\n".join(rows) + b"\nLAST,Caf\xe9 cr\xe8me,2 EUR\n"

    job = run_import(content)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.file_info["encoding"] == "cp1252"
    assert job.file_info["reader"] == "postgresql"
    assert "python_reader_because" not in job.file_info
    assert job.rows_total == job.rows_created == 12_001
    assert Product.objects.get(vendor=vendor, sku="LAST").title == "Café crème"
