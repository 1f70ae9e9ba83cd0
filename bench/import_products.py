"""Benchmark the product import against its peers on PostgreSQL: rows/s, ratios and peak RSS.

    DATABASE_URL=postgres://... python bench/import_products.py [--rows 100000] [--methods ...]

Each method runs in its own process (so peak RSS is its own), first into an empty table and then
again with the same file (a re-import of an unchanged feed).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

METHODS = ("project", "copy_upsert", "copy_upsert_skip", "import_export", "bulk_create")
LABELS = {
    "project": "this project's import (job code path)",
    "copy_upsert": "raw COPY + INSERT ... ON CONFLICT DO UPDATE",
    "copy_upsert_skip": "raw COPY + upsert skipping unchanged rows",
    "import_export": "django-import-export ModelResource, bulk mode",
    "bulk_create": "bulk_create(update_conflicts=True) from csv.DictReader",
}
VENDOR_CODE = "bench-vendor"
HEADER = ["id", "title", "description", "link", "image_link", "additional_image_link", "availability", "price",
          "sale_price", "brand", "gtin", "mpn", "condition", "google_product_category", "product_type", "color",
          "size", "weight", "quantity"]
WORDS = ("crème", "brûlée", "château", "forêt", "élégant", "naïf", "façade", "garçon", "œuvre", "Ärmel", "Größe",
         "schön", "Luxembourg", "Moselle", "artisanal", "coton", "laine", "bois", "chêne", "verre", "céramique")


def generate_feed(path: Path, rows: int) -> int:
    """Write a realistic feed (~500 bytes a row, accents, quoted newlines); return its size."""
    rng = random.Random(42)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for n in range(rows):
            words = rng.choices(WORDS, k=28)
            description = " ".join(words[:14]) + ",\n" + " ".join(words[14:]) + f' "édition {n % 97}".'
            price = rng.randint(100, 99_999) / 100
            writer.writerow([
                f"SKU-{n:07d}", f"{words[0].title()} {words[1]} {words[2]} n°{n}", description,
                f"https://boutique.example.lu/p/{n}", f"https://cdn.example.lu/img/{n}.jpg",
                f"https://cdn.example.lu/img/{n}-2.jpg", rng.choice(["in stock", "out of stock", "preorder"]),
                f"{price:.2f} EUR", f"{price * 0.9:.2f} EUR" if n % 5 == 0 else "", rng.choice(["Lux", "Moselle"]),
                f"{4006381333931 + n}", f"MPN-{n}", "new", "Home & Garden > Decor", "Décoration > Intérieur",
                rng.choice(["rouge", "bleu", "vert"]), rng.choice(["S", "M", "L"]), f"{rng.randint(1, 900)} g",
                str(rng.randint(0, 500)),
            ])
    return path.stat().st_size


# Shop-shaped feeds (--shape): the same products as a WooCommerce or a Shopify export writes them.
WOO_HEADER = ["ID", "Type", "SKU", "Name", "Published", "Short description", "Description", "In stock?", "Stock",
              "Sale price", "Regular price", "Categories", "Images", "Parent", "Weight (kg)"]
SHOPIFY_HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Option1 Name", "Option1 Value", "Variant SKU",
                  "Variant Grams", "Variant Inventory Qty", "Variant Price", "Variant Compare At Price",
                  "Variant Barcode", "Image Src", "Image Position"]


def generate_shop_feed(path: Path, rows: int, shape: str) -> int:
    """Write ``rows`` product rows shaped as WooCommerce (a variable parent before every 10 variations)
    or Shopify (products of 2 variants, the second inheriting, and an image-only row each) exports them."""
    rng = random.Random(42)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(WOO_HEADER if shape == "woocommerce" else SHOPIFY_HEADER)
        for n in range(rows):
            words = rng.choices(WORDS, k=28)
            description = "<p>" + " ".join(words[:14]) + ",\n" + " ".join(words[14:]) + "</p>"
            price = rng.randint(100, 99_999) / 100
            title = f"{words[0].title()} {words[1]} n°{n // 2}"
            if shape == "woocommerce":
                if n % 10 == 0:
                    writer.writerow([900_000 + n, "variable", f"PARENT-{n}", title, 1, "", description, 1, "", "", "",
                                     "Décoration > Intérieur", "", "", ""])
                writer.writerow([n, "variation" if n % 10 else "simple", f"SKU-{n:07d}", title, 1, words[3],
                                 description, rng.choice(["1", "0", "backorder"]), rng.randint(0, 500),
                                 f"{price * 0.9:.2f}" if n % 5 == 0 else "", f"{price:.2f}", "Décoration > Intérieur",
                                 f"https://cdn.example.lu/img/{n}.jpg, https://cdn.example.lu/img/{n}-2.jpg", "",
                                 f"{rng.randint(1, 900) / 100}"])
            else:
                first = n % 2 == 0
                writer.writerow([f"product-{n // 2}", title if first else "", description if first else "",
                                 "Moselle" if first else "", "Décoration" if first else "", "Size",
                                 "S" if first else "M", f"SKU-{n:07d}", rng.randint(1, 900), rng.randint(0, 500),
                                 f"{price:.2f}", f"{price * 1.2:.2f}" if n % 5 == 0 else "", f"{4006381333931 + n}",
                                 f"https://cdn.example.lu/img/{n // 2}.jpg" if first else "", "1" if first else ""])
                if not first:
                    writer.writerow([f"product-{n // 2}", *[""] * 12, f"https://cdn.example.lu/img/{n // 2}-2.jpg", "2"])
    return path.stat().st_size


# The raw peer's reading of the same rows: the shop's columns selected as they are (no inheritance).
SHOP_SELECT = {
    "woocommerce": ("c2", """c2, c3, c6, '', split_part(c12, ',', 1), '', CASE c7 WHEN '1' THEN 'in_stock' WHEN '0'
        THEN 'out_of_stock' ELSE 'backorder' END, c10::numeric, 'EUR', nullif(c9, '')::numeric, '', '', '', 'new', '',
        c11, '', '', c14, nullif(c8, '')::integer""", "c10 <> ''"),
    "shopify": ("c7", """c7, c1, c2, '', c13, '', 'in_stock', c10::numeric, 'EUR', nullif(c11, '')::numeric, c3,
        c12, '', 'new', '', c4, '', c6, c8, nullif(c9, '')::integer""", "c10 <> ''"),
}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the methods (each runs in a child process) ------------------------------------------


def _vendor():
    from wizamart.marketplace.models import Vendor

    return Vendor.objects.get(code=VENDOR_CODE)


def run_project(path: Path, vendor) -> None:
    from django.core.files import File

    from background_tasks.services import background_task_create, background_task_run
    from background_tasks.status import TaskStatus
    from imports.models import MarketplaceImportJob
    from imports.products.services import private_storage

    with open(path, "rb") as f:
        name = private_storage().save("bench/feed.csv", File(f, name="feed.csv"))
    try:
        job = background_task_create(
            model=MarketplaceImportJob, triggered_by="cli:bench", dispatch=False, vendor=vendor, source_file=name
        )
        started = time.perf_counter()
        status = background_task_run(model=MarketplaceImportJob, job_id=job.pk)
        elapsed = time.perf_counter() - started
        if status != TaskStatus.COMPLETED:
            job.refresh_from_db()
            raise SystemExit(f"import ended {status}: {job.error_message} {job.warnings}")
        return elapsed
    finally:
        private_storage().delete(name)


_TARGET = ["sku", "title", "description", "link", "image_link", "additional_image_link", "availability", "price",
           "currency", "sale_price", "brand", "gtin", "mpn", "condition", "google_product_category", "product_type",
           "color", "size", "weight", "quantity"]
_SELECT = """id, title, description, link, image_link, additional_image_link,
    replace(availability, ' ', '_'), split_part(price, ' ', 1)::numeric, coalesce(nullif(split_part(price, ' ', 2), ''), 'EUR'),
    nullif(split_part(sale_price, ' ', 1), '')::numeric, brand, gtin, mpn, condition, google_product_category,
    product_type, color, size, weight, nullif(quantity, '')::integer"""


def run_copy_upsert(path: Path, vendor, skip_unchanged: bool, shape: str = "google") -> float:
    from django.db import connection, transaction

    header, select, where_rows = HEADER, _SELECT, "TRUE"
    if shape != "google":
        width = len(WOO_HEADER if shape == "woocommerce" else SHOPIFY_HEADER)
        header = [f"c{i}" for i in range(width)]
        _, select, where_rows = SHOP_SELECT[shape]

    updated = _TARGET[1:]
    where = ""
    if skip_unchanged:
        where = "WHERE ({}) IS DISTINCT FROM ({})".format(
            ", ".join(f"p.{c}" for c in updated), ", ".join(f"EXCLUDED.{c}" for c in updated)
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_stage ({', '.join(f'{c} text' for c in header)}) ON COMMIT DROP")
        with open(path, "rb") as f, cursor.cursor.copy(
            "COPY bench_stage FROM STDIN WITH (FORMAT csv, HEADER true, FORCE_NOT_NULL (" + ", ".join(header) + "))"
        ) as copy:
            while chunk := f.read(1024 * 1024):
                copy.write(chunk)
        cursor.execute(
            f"""INSERT INTO marketplace_product AS p (vendor_id, {", ".join(_TARGET)}, is_active, created_at, updated_at)
            SELECT %s, {select}, TRUE, now(), now() FROM bench_stage WHERE {where_rows}
            ON CONFLICT (vendor_id, sku) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in updated)},
                updated_at = EXCLUDED.updated_at {where}""",
            [vendor.pk],
        )
    return time.perf_counter() - started


def run_bulk_create(path: Path, vendor) -> float:
    from wizamart.marketplace.feed import parse_price
    from wizamart.marketplace.models import Product

    started = time.perf_counter()
    batch = []
    fields = [c for c in _TARGET if c != "sku"] + ["updated_at"]

    def flush():
        Product.objects.bulk_create(batch, update_conflicts=True, unique_fields=["vendor", "sku"], update_fields=fields)
        batch.clear()

    from django.utils import timezone

    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            price, currency = parse_price(row["price"])
            batch.append(Product(
                vendor=vendor, sku=row["id"], title=row["title"], description=row["description"], link=row["link"],
                image_link=row["image_link"], additional_image_link=row["additional_image_link"],
                availability=row["availability"].replace(" ", "_"), price=price, currency=currency,
                sale_price=parse_price(row["sale_price"])[0] if row["sale_price"] else None, brand=row["brand"],
                gtin=row["gtin"], mpn=row["mpn"], condition=row["condition"],
                google_product_category=row["google_product_category"], product_type=row["product_type"],
                color=row["color"], size=row["size"], weight=row["weight"],
                quantity=int(row["quantity"]) if row["quantity"] else None, updated_at=timezone.now(),
            ))
            if len(batch) >= 2000:
                flush()
    if batch:
        flush()
    return time.perf_counter() - started


def run_import_export(path: Path, vendor, limit: int | None, first: bool) -> float:
    import tablib
    from import_export import fields, resources, widgets

    from wizamart.marketplace.feed import parse_price
    from wizamart.marketplace.models import Product, Vendor

    bench_vendor = vendor

    class ProductResource(resources.ModelResource):
        sku = fields.Field(attribute="sku", column_name="id")
        vendor = fields.Field(attribute="vendor", column_name="vendor", widget=widgets.ForeignKeyWidget(Vendor, "pk"))

        class Meta:
            model = Product
            import_id_fields = ("vendor", "sku")
            fields = ("vendor", "sku", *[c for c in _TARGET if c != "sku"])
            use_bulk = True
            batch_size = 2000
            skip_unchanged = True
            skip_diff = True
            # Tuned first load: the table is empty, so no per-row lookup of an existing instance.
            force_init_instance = first
            use_transactions = True

        def before_import_row(self, row, **kwargs):
            row["vendor"] = bench_vendor.pk
            row["price"], row["currency"] = parse_price(row["price"])
            row["sale_price"] = parse_price(row["sale_price"])[0] if row["sale_price"] else None
            row["availability"] = row["availability"].replace(" ", "_")
            row["quantity"] = row["quantity"] or None

    started = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        data = tablib.Dataset(headers=[*header, "vendor", "currency"])
        for n, row in enumerate(reader):
            if limit is not None and n >= limit:
                break
            data.append([*row, "", ""])
    result = ProductResource().import_data(data, raise_errors=True)
    if result.has_errors() or result.has_validation_errors():
        raise SystemExit("django-import-export reported errors")
    return time.perf_counter() - started


def child(method: str, path: Path, rows: int, ie_again_rows: int, shape: str = "google") -> None:
    import django

    django.setup()
    from django.db import connection

    from wizamart.marketplace.models import Product

    vendor = _vendor()
    result = {"method": method}
    for phase in ("first", "again"):
        measured_rows = rows
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
            xid_before = cursor.fetchone()[0] % 2**32
        if method == "project":
            seconds = run_project(path, vendor)
        elif method in ("copy_upsert", "copy_upsert_skip"):
            seconds = run_copy_upsert(path, vendor, skip_unchanged=method == "copy_upsert_skip", shape=shape)
        elif method == "bulk_create":
            seconds = run_bulk_create(path, vendor)
        else:
            # Its update path manages ~150 rows/s: the re-import is measured on the first rows only.
            measured_rows = rows if phase == "first" else min(rows, ie_again_rows)
            seconds = run_import_export(
                path, vendor, None if phase == "first" else measured_rows, first=phase == "first"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM marketplace_product WHERE vendor_id = %s AND xmin::text::bigint >= %s",
                [vendor.pk, xid_before],
            )
            written = cursor.fetchone()[0]
        result[phase] = {"rows": measured_rows, "seconds": seconds, "rows_written": written}
    result["count"] = Product.objects.filter(vendor=vendor).count()
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


# --- the parent: prepare, run each method in a child, print the table ------------------------


def prepare() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run the benchmark on PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    from wizamart.marketplace.models import Vendor

    Vendor.objects.get_or_create(code=VENDOR_CODE, defaults={"name": "Bench vendor"})


def empty_table() -> None:
    from django.db import connection

    # One SQL DELETE: the ORM's delete() would load a million products to collect them.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM marketplace_product WHERE vendor_id = %s", [_vendor().pk])
        cursor.execute("VACUUM ANALYZE marketplace_product")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--ie-again-rows", type=int, default=3_000, help="rows of django-import-export's re-import")
    parser.add_argument("--shape", choices=("google", "woocommerce", "shopify"), default="google",
                        help="the feed: a Google Merchant CSV, or the same products as a shop exports them")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file), args.rows, args.ie_again_rows, args.shape)
        return

    prepare()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.csv"
        size = generate_feed(path, args.rows) if args.shape == "google" else generate_shop_feed(path, args.rows, args.shape)
        print(f"Feed ({args.shape}): {args.rows:,} rows, {size / 1e6:.1f} MB ({size / args.rows:.0f} bytes a row)\n")
        results = {}
        # The machine's load (1-minute average) before the run and after each method: the
        # ratios hold against a peer measured in the same conditions, the rates move with it.
        loads = [f"before {os.getloadavg()[0]:.1f}"]
        for method in args.methods:
            empty_table()
            done = subprocess.run(
                [sys.executable, __file__, "--child", method, "--file", str(path), "--rows", str(args.rows),
                 "--ie-again-rows", str(args.ie_again_rows), "--shape", args.shape],
                capture_output=True, text=True,
            )
            if done.returncode:
                raise SystemExit(f"{method} failed:\n{done.stderr[-3000:]}")
            results[method] = json.loads(done.stdout.strip().splitlines()[-1])
            loads.append(f"after {method} {os.getloadavg()[0]:.1f}")
        empty_table()
    report(results)
    print(f"Load average (1 min, {os.cpu_count()} cores): {', '.join(loads)}")


def report(results: dict) -> None:
    def rate(result, phase):
        return result[phase]["rows"] / result[phase]["seconds"]

    print(f"{'method':56} {'first rows/s':>13} {'again rows/s':>13} {'rewritten':>10} {'peak RSS':>9}")
    for method, result in results.items():
        print(
            f"{LABELS[method]:56} {rate(result, 'first'):13,.0f} {rate(result, 'again'):13,.0f} "
            f"{result['again']['rows_written']:>10,} {result['peak_rss_mb']:7.0f} MB"
        )
    if "project" in results:
        ours = results["project"]
        print("\nRatios (this project's import / peer; higher is better):")
        for method, result in results.items():
            if method == "project":
                continue
            print(
                f"  vs {LABELS[method]:56} first {rate(ours, 'first') / rate(result, 'first'):6.2f}x"
                f"   again {rate(ours, 'again') / rate(result, 'again'):6.2f}x"
            )
        print(f"\nRe-import rows rewritten by this project's import: {ours['again']['rows_written']}")


if __name__ == "__main__":
    main()
