"""The COPY path and the portable path give the same products and the same counts."""
import pytest

from tests.factories import ProductFactory, VendorFactory
from wizamart.marketplace.models import Product

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FIRST = [
    "ID;Title;Price;Sale Price;Stock;Availability;Brand;Colour;Unknown",
    "M-1;Crème;19,99 EUR;;4;in stock;Lux;rouge;x",
    'M-2;"Deux\nlignes";5 EUR;4,50 EUR;;out of stock;;;y',
    "M-3;;5 EUR;;1;;;;",
    "M-4;Prix;-1 EUR;;1;;;;",
    "M-5;Répété;1 EUR;;1;;;;",
    "M-5;Répété;2 EUR;;1;;;;",
    "M-6;Inchangé;7 EUR;;7;;Old;;",
]
SECOND = [
    "ID;Title;Price;Sale Price;Stock;Availability;Brand;Colour;Unknown",
    "M-1;Crème;19,99 EUR;;4;in stock;Lux;rouge;changed-but-ignored",
    "M-2;Deux lignes;5 EUR;4,50 EUR;;out of stock;;;y",
    "M-3;Titre enfin;5 EUR;;1;;;;",
    "M-7;Nouveau;3 EUR;;abc;;;;",
    "M-8;Nouveau;3 EUR;;2;;;;",
]


def outcome(job):
    return (job.status, job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected,
            job.rows_deactivated, job.duplicate_skus, job.rejected_sample, job.warnings, job.rows_repeated)


def products(vendor):
    fields = [f.name for f in Product._meta.fields if f.name not in ("id", "vendor", "created_at", "updated_at")]
    return list(Product.objects.filter(vendor=vendor).order_by("sku").values_list(*fields))


@pytest.mark.parametrize("batch_size", [2, 10_000])
def test_copy_and_portable_paths_agree(run_import, feed_bytes, settings, batch_size):
    settings.IMPORTS_BATCH_SIZE = batch_size
    results = {}
    for path in ("copy", "portable"):
        settings.IMPORTS_USE_COPY = path == "copy"
        vendor = VendorFactory(code=f"parity-{path}")
        ProductFactory(vendor=vendor, sku="M-6", title="Inchangé", price="7", quantity=7, brand="Old")
        ProductFactory(vendor=vendor, sku="GONE", title="Plus vendu")
        first = run_import(feed_bytes(*FIRST, encoding="cp1252"), for_vendor=vendor, deactivate_missing=True)
        dry = run_import(feed_bytes(*SECOND), for_vendor=vendor, dry_run=True)
        second = run_import(feed_bytes(*SECOND), for_vendor=vendor)
        results[path] = ([outcome(first), outcome(dry), outcome(second)], products(vendor))

    assert results["copy"] == results["portable"]
    (first, dry, second), _ = results["copy"]
    assert first[1:8] == (7, 3, 0, 1, 2, 1, 1)  # M-6 unchanged; M-5's second row repeats it (and wins)
    assert first[-1] == 1
    assert dry[2:6] == second[2:6]
