"""Serve a fake Letzshop API on loopback for development and benchmarks."""
from django.core.management.base import BaseCommand, CommandError

from imports.orders.letzshop.fake import DEMO_VENDORS, FakeLetzshop, demo_key


class Command(BaseCommand):
    help = "Serve a fake Letzshop GraphQL API (the real schema) with deterministic shipments and injected faults."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default: a free one).")
        parser.add_argument("--shipments", type=int, default=500, help="Shipments per vendor (default 500).")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="Delay before each answer, in ms.")
        parser.add_argument("--fault-rate", type=float, default=0.0, help="Share of calls answered with a fault (0-1).")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the data and of the faults.")
        parser.add_argument(
            "--vendor", action="append", default=[], metavar="CODE=KEY",
            help="A vendor and its API key (repeatable; default: the demo vendors with demo keys).",
        )
        parser.add_argument("--bad-every", type=int, default=50, help="Every n-th shipment is unusable (0: none).")
        parser.add_argument("--unknown-sku-every", type=int, default=40, help="Every n-th item has an unknown sku (0: none).")

    def handle(self, *args, **options):
        if not 0 <= options["fault_rate"] <= 1:
            raise CommandError("--fault-rate must be between 0 and 1.")
        vendors = self.vendors(options["vendor"])
        fake = FakeLetzshop(
            vendors=vendors,
            shipments=options["shipments"],
            latency_ms=options["latency_ms"],
            fault_rate=options["fault_rate"],
            seed=options["seed"],
            bad_every=options["bad_every"],
            unknown_sku_every=options["unknown_sku_every"],
            port=options["port"],
        )
        try:
            fake.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{options['port']}: {exc.strerror or exc}") from None
        self.stdout.write(f"Fake Letzshop API at {fake.url} ({options['shipments']} shipments per vendor)")
        self.stdout.write(f"Point the project at it: LETZSHOP_API_URL={fake.url}")
        for code in vendors:
            self.stdout.write(f"  vendor {code}: set its key with  python manage.py letzshop_key {code}  (key on stdin)")
        self.stdout.flush()
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def vendors(self, pairs: list[str]) -> dict[str, str]:
        if not pairs:
            return {code: demo_key(code) for code in DEMO_VENDORS}
        vendors = {}
        for pair in pairs:
            code, sep, key = pair.partition("=")
            if not sep or not code or not key:
                raise CommandError(f"--vendor takes CODE=KEY (got {pair!r}).")
            vendors[code] = key
        return vendors
