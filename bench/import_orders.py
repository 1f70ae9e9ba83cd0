"""Benchmark the order import against the fake Letzshop API on PostgreSQL: time vs the page-latency limit and a naive peer.

    DATABASE_URL=postgres://... python bench/import_orders.py [--shipments 100000] [--latency-ms 50]
        [--peer-pages 50] [--fault-shipments 10000]

The fake server runs in its own process (`manage.py fake_letzshop`), and so does each measured
method (its peak RSS is its own). Printed: this job's time on its own code path; the physical
limit (pages x latency) and a bare sequential read of every page (no parsing, no writes); the
naive peer (a loop over pages, `update_or_create` per order and per item) on its first pages;
the rows a re-run over the whole unchanged history writes; and a run with 20% faults.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

VENDOR_CODE = "bench-orders"
API_KEY = "bench-orders-key"
PAGE_SIZE = 100


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*, shipments: int, latency_ms: float, fault_rate: float = 0.0) -> tuple[subprocess.Popen, str]:
    argv = [sys.executable, str(ROOT / "manage.py"), "fake_letzshop", "--port", str(free_port()),
            "--shipments", str(shipments), "--latency-ms", str(latency_ms), "--fault-rate", str(fault_rate),
            "--vendor", f"{VENDOR_CODE}={API_KEY}", "--bad-every", "0", "--unknown-sku-every", "0", "--seed", "7"]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    line = server.stdout.readline()
    match = re.search(r"(http://\S+/graphql)", line)
    if not match:
        server.kill()
        raise SystemExit(f"fake_letzshop did not start: {line}{server.stdout.read()[-2000:]}")
    return server, match.group(1)


# --- measured in child processes ---------------------------------------------------------------


def _written_rows(connection, xid_before: int, vendor_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM marketplace_order WHERE vendor_id = %s AND xmin::text::bigint >= %s)"
            " + (SELECT COUNT(*) FROM marketplace_orderitem i JOIN marketplace_order o ON o.id = i.order_id"
            "    WHERE o.vendor_id = %s AND i.xmin::text::bigint >= %s)",
            [vendor_id, xid_before, vendor_id, xid_before],
        )
        return cursor.fetchone()[0]


def _xid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0] % 2**32


def run_job(since: datetime | None) -> dict:
    from django.db import connection

    from background_tasks.services import background_task_run
    from imports.orders.models import LetzshopHistoricalImportJob
    from imports.orders.services import order_import_create
    from wizamart.marketplace.models import Vendor

    vendor = Vendor.objects.get(code=VENDOR_CODE)
    xid = _xid(connection)
    job = order_import_create(vendor=vendor, triggered_by="cli:bench", since=since, dispatch=False)
    started = time.perf_counter()
    status = background_task_run(model=LetzshopHistoricalImportJob, job_id=job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    return {"status": status, "seconds": seconds, "rows_written": _written_rows(connection, xid, vendor.pk),
            "details": job.get_details(), "error": job.error_message}


def run_peer(url: str, pages: int) -> dict:
    """What a Django developer would write first: read pages, update_or_create each order and item."""
    from decimal import Decimal

    import httpx

    from imports.orders.letzshop.query import SHIPMENTS_QUERY
    from wizamart.marketplace.models import Order, OrderItem, Product, Vendor

    vendor = Vendor.objects.get(code=VENDOR_CODE)
    client = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)
    after, shipments = None, 0
    started = time.perf_counter()
    for _ in range(pages):
        body = client.post(url, json={"query": SHIPMENTS_QUERY, "variables": {"first": PAGE_SIZE, "after": after}}).json()
        connection = body["data"]["shipments"]
        for node in connection["nodes"]:
            order, _ = Order.objects.update_or_create(
                vendor=vendor, external_id=node["id"],
                defaults={"order_number": node["order"]["number"], "status": node["state"],
                          "customer_email": node["order"]["email"] or "", "total": Decimal(node["order"]["total"]),
                          "placed_at": node["order"]["completedAt"], "currency": node["order"]["currency"]},
            )
            for unit in node["inventoryUnits"]:
                variant = unit["variant"]
                OrderItem.objects.update_or_create(
                    order=order, external_id=unit["id"],
                    defaults={"sku": variant["sku"] or "", "unit_price": Decimal(variant["price"]),
                              "title": (variant.get("product") or {}).get("name") or "",
                              "product": Product.objects.filter(vendor=vendor, sku=variant["sku"]).first()},
                )
            shipments += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    return {"seconds": time.perf_counter() - started, "shipments": shipments}


def child(args) -> None:
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    from django.conf import settings

    settings.LETZSHOP_API_URL = args.url
    if args.child == "project":
        result = {"first": run_job(None), "again": run_job(datetime(2000, 1, 1, tzinfo=UTC))}
    elif args.child == "faults":
        # Short backoff: the point is exactness under faults, not the waiting.
        settings.LETZSHOP_BACKOFF_INITIAL, settings.LETZSHOP_BACKOFF_MAX, settings.LETZSHOP_READ_TIMEOUT = 0.1, 1.0, 1.0
        settings.LETZSHOP_MAX_ATTEMPTS = 12
        result = {"first": run_job(None)}
    else:
        result = run_peer(args.url, args.peer_pages)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=str))


# --- the parent ----------------------------------------------------------------------------------


def prepare() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run the benchmark on PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    from imports.orders.letzshop.fake import demo_sku
    from wizamart.marketplace.models import Product, Vendor

    vendor, _ = Vendor.objects.update_or_create(code=VENDOR_CODE, defaults={"name": "Bench orders", "letzshop_api_key": API_KEY})
    for n in range(40):
        Product.objects.get_or_create(vendor=vendor, sku=demo_sku(VENDOR_CODE, n), defaults={"title": f"P {n}", "price": 1})


def empty_orders() -> None:
    from django.db import connection

    from imports.orders.models import LetzshopHistoricalImportJob

    LetzshopHistoricalImportJob.objects.filter(vendor__code=VENDOR_CODE).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM marketplace_orderitem WHERE order_id IN (SELECT o.id FROM marketplace_order o"
                       " JOIN marketplace_vendor v ON v.id = o.vendor_id WHERE v.code = %s)", [VENDOR_CODE])
        cursor.execute("DELETE FROM marketplace_order WHERE vendor_id = (SELECT id FROM marketplace_vendor WHERE code = %s)",
                       [VENDOR_CODE])
        cursor.execute("VACUUM ANALYZE marketplace_order")
        cursor.execute("VACUUM ANALYZE marketplace_orderitem")


def in_child(method: str, url: str, args) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", method, "--url", url, "--peer-pages", str(args.peer_pages)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{method} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bare_read(url: str) -> tuple[float, int]:
    """Read every page sequentially, nothing else: what the API alone costs."""
    import httpx

    from imports.orders.letzshop.query import SHIPMENTS_QUERY

    client = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)
    after, pages = None, 0
    started = time.perf_counter()
    while True:
        connection = client.post(url, json={"query": SHIPMENTS_QUERY, "variables": {"first": PAGE_SIZE, "after": after}}).json()["data"]["shipments"]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            return time.perf_counter() - started, pages
        after = connection["pageInfo"]["endCursor"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--peer-pages", type=int, default=50, help="pages the naive peer is timed on")
    parser.add_argument("--fault-shipments", type=int, default=10_000, help="shipments of the 20%%-fault run")
    parser.add_argument("--child", choices=("project", "peer", "faults"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    prepare()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    server, url = start_server(shipments=args.shipments, latency_ms=args.latency_ms)
    try:
        results = measure(args, url)
    finally:
        server.kill()
    faulty, faulty_url = start_server(shipments=args.fault_shipments, latency_ms=0, fault_rate=0.2)
    try:
        empty_orders()
        results["faults"] = in_child("faults", faulty_url, args)
    finally:
        faulty.kill()
    empty_orders()
    report(args, results)


def measure(args, url: str) -> dict:
    loads = [os.getloadavg()[0]]
    empty_orders()
    results = {"project": in_child("project", url, args)}
    loads.append(os.getloadavg()[0])
    empty_orders()
    results["peer"] = in_child("peer", url, args)
    empty_orders()
    loads.append(os.getloadavg()[0])
    results["bare_seconds"], results["pages"] = bare_read(url)
    loads.append(os.getloadavg()[0])
    results["loads"] = loads
    return results


def report(args, results: dict) -> None:
    ours, peer = results["project"], results["peer"]
    pages = results["pages"]
    limit = pages * args.latency_ms / 1000
    first, again = ours["first"], ours["again"]
    details = first["details"]
    print(f"Fake Letzshop: {args.shipments:,} shipments ({details['items_written']:,} items), "
          f"{PAGE_SIZE} a page = {pages:,} pages, {args.latency_ms:.0f} ms latency a page\n")
    print(f"{'':52} {'seconds':>9} {'shipments/s':>12}")
    print(f"{'page-latency limit (pages x latency)':52} {limit:9.1f} {args.shipments / limit:12,.0f}")
    print(f"{'bare sequential read of every page (no writes)':52} {results['bare_seconds']:9.1f} "
          f"{args.shipments / results['bare_seconds']:12,.0f}")
    print(f"{'this job, first import (' + first['status'] + ')':52} {first['seconds']:9.1f} "
          f"{details['shipments_seen'] / first['seconds']:12,.0f}")
    print(f"{'this job, re-run over the unchanged history':52} {again['seconds']:9.1f} "
          f"{again['details']['shipments_seen'] / again['seconds']:12,.0f}")
    peer_rate = peer["shipments"] / peer["seconds"]
    print(f"{'naive peer (update_or_create), first ' + str(peer['shipments']) + ' shipments':52} {peer['seconds']:9.1f} "
          f"{peer_rate:12,.0f}")
    print("\nLoad average (1 min) before this job, after it, before and after the bare read: "
          + ", ".join(f"{load:.1f}" for load in results["loads"]) + f" on {os.cpu_count()} cores")
    print(f"This job / page-latency limit: {first['seconds'] / limit:.2f}x (target <= 1.25x)")
    print(f"This job / bare sequential read: {first['seconds'] / results['bare_seconds']:.2f}x")
    print(f"This job vs the naive peer (shipments/s): {details['shipments_seen'] / first['seconds'] / peer_rate:.1f}x faster (target >= 10x)")
    print(f"Peak RSS: this job {ours['peak_rss_mb']:.0f} MB (target < 150 MB), peer {peer['peak_rss_mb']:.0f} MB")
    print(f"Rows written by the re-run over {again['details']['shipments_seen']:,} unchanged shipments: {again['rows_written']:,} "
          f"(first import wrote {first['rows_written']:,})")
    faults = results["faults"]["first"]
    fd = faults["details"]
    print(f"\n20% faults, {args.fault_shipments:,} shipments: {faults['status']}, {fd['orders_created']:,} orders created, "
          f"{fd['orders_updated']} updated, {fd['retries']} retries, {fd['rate_limit_wait_seconds']} s on rate limits, "
          f"{faults['seconds']:.1f} s; every shipment exactly once: {fd['orders_created'] == args.fault_shipments == fd['shipments_seen']}")


if __name__ == "__main__":
    main()
