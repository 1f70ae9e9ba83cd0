"""Benchmark the product export against raw COPY TO and django-import-export, in one run, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wizamart python bench/export_products.py [--rows 100000]

Fills the database with a realistic catalogue for one bench vendor (accents, quoted multi-line
descriptions, ~540 bytes a row), then runs each method in its own process, in --repeat rounds of
all methods (the fastest run of each counts), and prints rows/s, ratios and peak RSS (VmHWM).
The rows stay for the next run; --cleanup removes them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

BENCH_VENDOR = "bench-export"
METHODS = ("copy", "job_csv", "job_xml", "import_export")
LABELS = {
    "copy": "COPY (SELECT ...) TO STDOUT WITH CSV (the limit)",
    "job_csv": "product_export job, CSV",
    "job_xml": "product_export job, XML",
    "import_export": "django-import-export export() to CSV (the peer)",
}
TARGETS = [
    ("job_csv", "copy", 0.5, "CSV >= 0.5x raw COPY TO"),
    ("job_csv", "import_export", 20.0, "CSV >= 20x django-import-export"),
    ("job_xml", "import_export", 10.0, "XML >= 10x django-import-export CSV"),
]
RSS_TARGET_MB = 150

WORDS = (
    "maison crème brûlée café élégant übergröße straße garçon naïve fenêtre forêt château lumière "
    "coussin lin lavé céramique artisanal fait main Luxembourg Mëllerdall Ësch bois chêne huilé "
    "grand petit ensemble set de 4 bleu nuit vert sauge rouge brique doux résistant lavable"
).split()
BRANDS = ["Maison Lux", "Atelier Été", "Bëschhaus", "Nordlicht & Co", "Forêt Noire", "L'Artisan"]


def product_rows(vendor_id: int, count: int, seed: int = 7):
    """Yield rows for COPY: realistic text with accents, quotes and multi-line descriptions."""
    rng = random.Random(seed)
    availability = ["in_stock"] * 6 + ["out_of_stock", "preorder", "backorder"]
    for n in range(count):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).capitalize()
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))) for _ in range(rng.randint(2, 4))]
        description = f'{lines[0].capitalize()}, "{rng.choice(WORDS)}".\n' + "\n".join(lines[1:])
        price = Decimal(rng.randint(199, 99999)) / 100
        yield (
            vendor_id,
            f"BX-{n:08d}",
            title,
            description,
            f"https://shop.example/p/bx-{n:08d}",
            f"https://cdn.example/img/bx-{n:08d}.jpg",
            "",
            rng.choice(availability),
            price,
            "EUR",
            (price * Decimal("0.8")).quantize(Decimal("0.01")) if n % 5 == 0 else None,
            rng.choice(BRANDS),
            f"{4000000000000 + n:013d}",
            f"MPN-{n}",
            "new",
            "Home & Garden > Decor",
            "Déco > Coussins",
            rng.choice(["bleu", "vert sauge", "rouge brique", ""]),
            rng.choice(["S", "M", "L", "XL", ""]),
            f"{rng.randint(1, 5000) / 1000:.3f} kg",
            rng.randint(0, 500),
            True,
        )


def seed(rows: int) -> int:
    """Make the bench vendor hold exactly ``rows`` products (filled with COPY); return its id."""
    from django.db import connection
    from django.utils import timezone

    from wizamart.marketplace.models import Product, Vendor

    vendor, _ = Vendor.objects.get_or_create(code=BENCH_VENDOR, defaults={"name": "Benchmark vendor"})
    if Product.objects.filter(vendor=vendor).count() == rows:
        return vendor.pk
    delete_bench_products(vendor.pk)
    columns = (
        "vendor_id sku title description link image_link additional_image_link availability price currency "
        "sale_price brand gtin mpn condition google_product_category product_type color size weight quantity is_active"
    ).split()
    now = timezone.now()
    print(f"Filling {rows:,} products ...", flush=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Product._meta.db_table)
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}, created_at, updated_at) FROM STDIN") as copy:
            for row in product_rows(vendor.pk, rows):
                copy.write_row((*row, now, now))
    with connection.cursor() as cursor:
        # Rewrite the table: rows deleted by an earlier run at another size would otherwise be scanned too.
        cursor.execute(f"VACUUM FULL ANALYZE {table}")
    print(f"  filled in {time.monotonic() - started:.1f}s", flush=True)
    return vendor.pk


def delete_bench_products(vendor_id: int) -> None:
    """Delete the bench vendor's products in one statement (no order refers to them)."""
    from django.db import connection

    from wizamart.marketplace.models import Product

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(Product._meta.db_table)} WHERE vendor_id = %s", [vendor_id])


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(method: str, vendor_id: int, out_dir: str) -> dict:
    """Run one method in this (fresh) process and return its measurements."""
    import django

    django.setup()
    from django.db import connection

    from wizamart.marketplace.feed import FEED_COLUMNS
    from wizamart.marketplace.models import Product

    target = os.path.join(out_dir, f"{method}.out")
    started = time.monotonic()
    if method == "copy":
        table = connection.ops.quote_name(Product._meta.db_table)
        columns = ", ".join(FEED_COLUMNS.values())
        with connection.cursor() as cursor, open(target, "wb") as out:
            with cursor.cursor.copy(
                f"COPY (SELECT {columns} FROM {table} WHERE vendor_id = %s AND is_active ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)",
                [vendor_id],
            ) as copy:
                for chunk in copy:
                    out.write(chunk)
            rows = cursor.cursor.rowcount
    elif method in ("job_csv", "job_xml"):
        from background_tasks.services import background_task_create, background_task_run
        from exports.models import ProductExportJob
        from exports.services import private_storage

        job = background_task_create(
            model=ProductExportJob,
            triggered_by="cli:bench",
            dispatch=False,
            vendor_id=vendor_id,
            format="csv" if method == "job_csv" else "xml",
        )
        status = background_task_run(model=ProductExportJob, job_id=job.pk)
        job.refresh_from_db()
        if not job.row_count:
            raise SystemExit(f"{method}: the job ended {status}: {job.error_message}")
        rows = job.row_count
        target = private_storage().path(job.file_name)
    elif method == "import_export":
        from import_export import fields, resources

        # The feed's columns, named as the feed names them.
        attrs = {field: fields.Field(attribute=field, column_name=column) for column, field in FEED_COLUMNS.items()}
        attrs["Meta"] = type("Meta", (), {"model": Product, "fields": tuple(FEED_COLUMNS.values())})
        ProductFeedResource = type("ProductFeedResource", (resources.ModelResource,), attrs)
        dataset = ProductFeedResource().export(queryset=Product.objects.filter(vendor_id=vendor_id, is_active=True).order_by("pk"))
        with open(target, "w", encoding="utf-8", newline="") as out:
            out.write(dataset.csv)
        rows = len(dataset)
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.monotonic() - started
    return {"method": method, "rows": rows, "seconds": seconds, "bytes": os.path.getsize(target), "peak_rss_mb": peak_rss_mb()}


def run_child(method: str, vendor_id: int, out_dir: str, env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", method, "--vendor-id", str(vendor_id), "--out-dir", out_dir],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{method} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--peer-max-rows", type=int, default=200_000,
        help="Skip django-import-export above this many rows (it holds every row in memory).",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="Runs of each method; the fastest counts (the machine may be shared)."
    )
    parser.add_argument("--cleanup", action="store_true", help="Delete the bench vendor and its products afterwards.")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--vendor-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(child(args.child, args.vendor_id, args.out_dir)))
        return

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: the benchmark measures PostgreSQL.")
    call_command("migrate", verbosity=0)
    vendor_id = seed(args.rows)
    connection.close()

    methods = [m for m in METHODS if m != "import_export" or args.rows <= args.peer_max_rows]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as out_dir:
        env = {**os.environ, "PRIVATE_STORAGE_ROOT": os.path.join(out_dir, "private"), "USE_CELERY": "false"}
        run_child("copy", vendor_id, out_dir, env)  # warm the database cache; not counted
        # Rounds interleave the methods, so that each meets the same load on a shared machine.
        runs: dict[str, list[dict]] = {method: [] for method in methods}
        for round_number in range(1, args.repeat + 1):
            print(f"Round {round_number} of {args.repeat} ...", flush=True)
            for method in methods:
                runs[method].append(run_child(method, vendor_id, out_dir, env))
        for method in methods:
            results[method] = min(runs[method], key=lambda r: r["seconds"])
            results[method]["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs[method])

    print(f"\nProduct export, {args.rows:,} rows, PostgreSQL, fastest of {args.repeat} interleaved runs each\n")
    print(f"{'method':<52} {'seconds':>8} {'rows/s':>10} {'MB out':>8} {'peak RSS MB':>12}")
    for method, r in results.items():
        rate = r["rows"] / r["seconds"]
        print(f"{LABELS[method]:<52} {r['seconds']:>8.2f} {rate:>10,.0f} {r['bytes'] / 1e6:>8.1f} {r['peak_rss_mb']:>12.0f}")
        if r["rows"] != args.rows:
            print(f"  !! {method} wrote {r['rows']} rows, expected {args.rows}")
    print()
    for method, peer, target, text in TARGETS:
        if method in results and peer in results:
            ratio = (results[method]["rows"] / results[method]["seconds"]) / (results[peer]["rows"] / results[peer]["seconds"])
            print(f"{text:<40} {ratio:>8.2f}x  {'ok' if ratio >= target else 'MISSED'}")
    for method in ("job_csv", "job_xml"):
        rss = results[method]["peak_rss_mb"]
        print(f"{LABELS[method] + ' peak RSS':<40} {rss:>7.0f} MB  {'ok' if rss < RSS_TARGET_MB else 'MISSED'} (< {RSS_TARGET_MB} MB)")

    if args.cleanup:
        from exports.models import ProductExportJob
        from wizamart.marketplace.models import Vendor

        delete_bench_products(vendor_id)
        ProductExportJob.objects.filter(vendor_id=vendor_id).delete()
        Vendor.objects.filter(pk=vendor_id).delete()


if __name__ == "__main__":
    main()
