"""The error report: the rejected rows as sent plus an error column, downloadable by staff only."""
import csv
import io

import pytest

from background_tasks.status import TaskStatus
from tests.factories import VendorFactory
from wizamart.marketplace.feed import FORMULA_PREFIXES
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

FEED = [
    "id;title;price;quantity;note",
    "E-1;Bon;10 EUR;1;a",
    "E-2;;10 EUR;1;b",
    'E-3;"Deux\nlignes";prix?;1;c',
    "E-4;Stock;10 EUR;-;d",
]


def download(client, job):
    return client.get(job.get_details()["error_report_url"])


def test_error_report_has_the_original_rows_and_the_reasons(run_import, feed_bytes, staff_client):
    job = run_import(feed_bytes(*FEED, encoding="cp1252"))

    response = download(staff_client, job)

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="product-import-{job.pk}-errors.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["id", "title", "price", "quantity", "note", "error"],
        ["E-2", "", "10 EUR", "1", "b", "empty title"],
        ["E-3", "Deux\nlignes", "prix?", "1", "c", "'prix?' is not a price like '19.99 EUR'"],
        ["E-4", "Stock", "10 EUR", "'-", "d", "quantity '-' is not a whole number"],
    ]


def test_fixed_error_report_imports_cleanly(run_import, feed_bytes, staff_client, vendor):
    job = run_import(feed_bytes(*FEED))
    text = b"".join(download(staff_client, job).streaming_content).decode("utf-8-sig")
    fixed = text.replace("E-2,,", "E-2,Titre,").replace("prix?", "12 EUR").replace(",'-,", ",3,")

    again = run_import(fixed.encode("utf-8-sig"))

    assert again.status == TaskStatus.COMPLETED, again.warnings
    assert (again.rows_created, again.rows_rejected) == (3, 0)
    assert Product.objects.filter(vendor=vendor).count() == 4


def test_first_rejected_rows_are_in_the_status_body(run_import, feed_bytes, staff_client):
    job = run_import(feed_bytes(*FEED))

    body = staff_client.get(f"/api/v1/admin/background-tasks/{job.pk}").json()

    details = body["details"]
    assert body["status"] == TaskStatus.COMPLETED_WITH_WARNINGS
    assert details["rows_total"] == 4 and details["rows_rejected"] == 3
    assert details["rejected_rows"][0] == {"line": 3, "sku": "E-2", "error": "empty title"}
    assert details["error_report_url"] == f"/api/v1/imports/products/{job.pk}/error-report"


def test_clean_import_has_no_error_report(run_import, feed_bytes, staff_client):
    job = run_import(feed_bytes("id,title,price", "C-1,Propre,1 EUR"))

    assert job.get_details()["error_report_url"] is None
    assert staff_client.get(f"/api/v1/imports/products/{job.pk}/error-report").status_code == 404


def test_error_report_needs_staff(run_import, feed_bytes, anon_client, user_client):
    job = run_import(feed_bytes(*FEED))
    url = job.get_details()["error_report_url"]

    assert anon_client.get(url).status_code == 401
    assert user_client.get(url).status_code == 403


def test_unknown_job_has_no_error_report(staff_client):
    assert staff_client.get("/api/v1/imports/products/987654/error-report").status_code == 404


# Rows a vendor sent, each rejected for its price, with cells a spreadsheet would run as formulas.
HOSTILE_HEADER = ["id", "title", "description", "price", "brand", "mpn", "color", "quantity", "@evil()"]
HOSTILE_ROWS = [
    ["=1+1", '=HYPERLINK("http://evil.example/","click")', "+cmd|' /C calc'!A0", "prix?", "@SUM(A1)", "\t=1+1", "-2+3", "2", "=x()"],
    ["H-2", "\r=1", "'=exported formula", "-5 EUR", "'plain", " @x ", "''=twice", "-", "ok"],
]


def hostile_feed(*, prices: tuple[str, str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HOSTILE_HEADER)
    for row, price in zip(HOSTILE_ROWS, prices, strict=True):
        writer.writerow([*row[:3], price, *row[4:]])
    return out.getvalue().encode()


def report_rows(client, job) -> list[list[str]]:
    text = b"".join(download(client, job).streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_error_report_neutralises_formula_cells_as_the_export_does(run_import, staff_client, write_path):
    job = run_import(hostile_feed(prices=("prix?", "-5 EUR")))

    rows = report_rows(staff_client, job)

    assert job.rows_rejected == 2
    assert rows[0] == ["id", "title", "description", "price", "brand", "mpn", "color", "quantity", "'@evil()", "error"]
    assert rows[1][:-1] == [
        "'=1+1", "'=HYPERLINK(\"http://evil.example/\",\"click\")", "'+cmd|' /C calc'!A0", "prix?", "'@SUM(A1)",
        "'=1+1", "'-2+3", "2", "'=x()",
    ]
    # A number stays a number and a leading apostrophe is guarded too (as in an export); text that
    # was already guarded keeps one guard.
    assert rows[2][:-1] == ["H-2", "'=1", "'=exported formula", "-5 EUR", "''plain", "'@x", "''=twice", "'-", "ok"]
    for row in rows:
        for cell in row[:3] + row[4:]:
            assert not cell.startswith(FORMULA_PREFIXES), (row, cell)


def test_fixed_error_report_reimports_the_original_values(run_import, staff_client, vendor, write_path):
    job = run_import(hostile_feed(prices=("prix?", "-5 EUR")))
    fixed = "\n".join(
        ",".join(csv_cell(cell) for cell in row[:-1])
        for row in [[*row[:3], "12 EUR" if row[3] in ("prix?", "-5 EUR") else row[3], *row[4:]] for row in report_rows(staff_client, job)]
    )

    again = run_import(fixed.encode("utf-8-sig"))
    direct = VendorFactory(code="direct")
    run_import(hostile_feed(prices=("12 EUR", "12 EUR")), for_vendor=direct)

    assert (again.rows_created, again.rows_rejected) == (1, 1)  # H-2's quantity '-' is still not a number
    fields = ["sku", "title", "description", "price", "brand", "mpn", "color", "quantity"]
    reimported = list(Product.objects.filter(vendor=vendor).order_by("sku").values_list(*fields))
    original = list(Product.objects.filter(vendor=direct).order_by("sku").values_list(*fields))
    assert reimported == original
    assert reimported[0][:3] == ("=1+1", '=HYPERLINK("http://evil.example/","click")', "+cmd|' /C calc'!A0")
    assert reimported[0][4:7] == ("@SUM(A1)", "=1+1", "-2+3")


def csv_cell(cell: str) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="").writerow([cell])
    return out.getvalue()
