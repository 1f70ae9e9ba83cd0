"""Load demo vendors, products and subscriptions (safe to run again)."""
import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from wizamart.marketplace.models import Product, Subscription, Vendor

VENDORS = [
    ("maison-lux", "Maison Lux"),
    ("velo-esch", "Vélo Esch"),
    ("epicerie-fine", "Épicerie Fine Kirchberg"),
]
WORDS = ["Lampe", "Vase", "Chaise", "Tasse", "Vélo", "Casque", "Thé", "Café", "Savon", "Bougie"]
ADJECTIVES = ["rouge", "bleu", "élégant", "robuste", "artisanal", "bio", "léger", "classique"]


class Command(BaseCommand):
    help = "Create demo vendors, products and subscriptions (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=40, help="Products per vendor (default 40).")

    @transaction.atomic
    def handle(self, *args, products=40, **options):
        rng = random.Random(42)
        now = timezone.now()
        created = 0
        for index, (code, name) in enumerate(VENDORS):
            vendor, _ = Vendor.objects.get_or_create(code=code, defaults={"name": name})
            for n in range(products):
                _, was_created = Product.objects.get_or_create(
                    vendor=vendor,
                    sku=f"{code[:3].upper()}-{n:04d}",
                    defaults={
                        "title": f"{rng.choice(WORDS)} {rng.choice(ADJECTIVES)} {n}",
                        "description": "Fabriqué au Luxembourg.\nLivraison rapide.",
                        "link": f"https://letzshop.lu/vendors/{code}/products/{n}",
                        "image_link": f"https://images.letzshop.lu/{code}/{n}.jpg",
                        "price": Decimal(rng.randint(199, 19999)) / 100,
                        "brand": name,
                        "gtin": f"{4000000000000 + index * 10000 + n}",
                        "quantity": rng.randint(0, 50),
                    },
                )
                created += was_created
            self._subscription(vendor, index, now)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(VENDORS)} vendors, {created} new products."))

    def _subscription(self, vendor, index, now):
        if vendor.subscriptions.exists():
            return
        if index == 0:  # a trial that has ended: maintenance expires it
            Subscription.objects.create(vendor=vendor, status=Subscription.Status.TRIALING, trial_end=now - timedelta(days=1))
        elif index == 1:  # an auto-renewing period that has ended: maintenance renews it
            Subscription.objects.create(
                vendor=vendor,
                status=Subscription.Status.ACTIVE,
                plan=Subscription.Plan.PROFESSIONAL,
                current_period_start=now - timedelta(days=31),
                current_period_end=now - timedelta(hours=2),
            )
        else:
            Subscription.objects.create(
                vendor=vendor,
                status=Subscription.Status.ACTIVE,
                plan=Subscription.Plan.ENTERPRISE,
                interval=Subscription.Interval.YEAR,
                current_period_start=now - timedelta(days=10),
                current_period_end=now + timedelta(days=355),
            )
