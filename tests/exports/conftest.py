"""Fixtures of the export tests: a catalogue with hostile text, running an export, reading its file back."""
import csv
import gzip
import io
from decimal import Decimal

import pytest

from exports.services import private_storage, product_export_create
from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.feed import FEED_COLUMNS, restore_cell
from wizamart.marketplace.models import Product

# Every awkward thing product text may hold; each one becomes a product's title or description.
NASTY_TEXTS = [
    "Crème brûlée « maison » — 250 g",
    'Line one\nLine two, with "quotes" and, commas',
    "Windows line\r\nbreaks\r\n",
    "A bare\rcarriage return",
    "=HYPERLINK(\"http://127.0.0.1/x\",\"click\")",
    "+33 1 23 45 67 89",
    "-2+3",
    "@SUM(A1:A9)",
    "\tleading tab",
    "\rleading carriage return",
    "'quoted start",
    "'=already escaped",
    "Fish & chips <b>bold</b> ]]> <![CDATA[x]]>",
    "Emoji 🚲 and 中文 and ß",
    "semi;colon|pipe\\backslash",
]


@pytest.fixture
def catalogue(db):
    """A vendor with products covering every field, accent, quoting and formula-injection case."""
    vendor = VendorFactory(code="maison-lux", name="Maison Lux")
    products = []
    for index, text in enumerate(NASTY_TEXTS):
        products.append(
            ProductFactory(
                vendor=vendor,
                sku=f"ML-{index:03d}",
                title=text.strip() or "x",
                description=text,
                link=f"https://shop.example/p/{index}?a=1&b=2",
                image_link=f"https://shop.example/i/{index}.jpg",
                additional_image_link="https://shop.example/a.jpg,https://shop.example/b.jpg" if index % 2 else "",
                availability=Product.Availability.values[index % len(Product.Availability.values)],
                price=Decimal("1234.50") + index,
                currency="EUR",
                sale_price=Decimal("999.99") if index % 3 == 0 else None,
                brand=text[:50],
                gtin=f"{index:013d}",
                mpn=f"-MPN-{index}" if index % 4 == 0 else f"MPN{index}",
                condition=Product.Condition.values[index % len(Product.Condition.values)],
                google_product_category="Home & Garden > Kitchen",
                product_type="Cuisine > Desserts",
                color="Rouge/Blanc",
                size="XL",
                weight="0.25 kg",
                quantity=-3 if index == 0 else (None if index == 1 else index * 7),
            )
        )
    return vendor, products


@pytest.fixture
def run_export(run_on_commit):
    """Create an export job, run it (eagerly, as a commit would) and return it fresh from the database."""

    def run(**fields):
        job = run_on_commit(product_export_create, triggered_by="manual:test", **fields)
        job.refresh_from_db()
        return job

    return run


def stored_bytes(job) -> bytes:
    """The job's file as stored (compressed if gzip)."""
    with private_storage().open(job.file_name, "rb") as handle:
        return handle.read()


def file_bytes(job) -> bytes:
    """The job's feed, decompressed if needed."""
    data = stored_bytes(job)
    return gzip.decompress(data) if job.gzip else data


def parse_price(text: str) -> tuple[Decimal | None, str]:
    if not text:
        return None, ""
    amount, _, currency = text.partition(" ")
    return Decimal(amount), currency


def read_feed_csv(data: bytes) -> list[dict]:
    """Read an exported CSV back into Product field values, the way a feed import maps its columns."""
    products = []
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")):
        fields = {}
        for column, field in FEED_COLUMNS.items():
            cell = row[column]
            if field in ("price", "sale_price"):
                fields[field], currency = parse_price(cell)
                if field == "price":
                    fields["currency"] = currency
            elif field == "quantity":
                fields[field] = int(cell) if cell else None
            else:
                fields[field] = restore_cell(cell)
        products.append(fields)
    return products
