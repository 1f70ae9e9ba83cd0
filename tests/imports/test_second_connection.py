"""A staged import shares its work with a second connection, carries on without it, and leaves no tables behind."""
import csv
import logging
from decimal import Decimal

import pytest
from django.db import connection

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from imports.products import staged
from imports.products.staged import checking, feed
from imports.products.staged.second import SecondConnection, Share
from tests.factories import ProductFactory
from wizamart.marketplace.models import Product

from .conftest import no_staging_tables, progress_of_import

pytestmark = pytest.mark.postgres

HEADER = "id,title,price,quantity"
LINES = [f"S-{n},Produit {n},{n}.50 EUR,{n}" for n in range(1, 10)]


def products(vendor) -> list[tuple]:
    return list(Product.objects.filter(vendor=vendor).order_by("sku").values_list("sku", "title", "price", "quantity"))


@pytest.mark.django_db(transaction=True)
def test_the_batches_are_shared_with_the_second_connection(run_import, feed_bytes, vendor, settings, second_connections):
    settings.IMPORTS_BATCH_SIZE = 1
    job = run_import(feed_bytes(HEADER, *LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.file_info["reader"] == "postgresql"
    assert (job.rows_total, job.rows_created) == (9, 9)
    assert products(vendor) == sorted((f"S-{n}", f"Produit {n}", Decimal(f"{n}.50"), n) for n in range(1, 10))
    assert second_connections["started"] == 1
    # Each batch ran once, on whichever connection was free: the second answered some of them.
    batches = [answer for answer in second_connections["answers"] if isinstance(answer, tuple)]
    assert batches and set(batches) == {(1, 0)} and len(batches) < 9
    assert no_staging_tables()


def test_each_item_is_taken_once_by_whichever_connection_is_free_within_the_lead():
    share = Share("SELECT 1", list(range(8)), lead=2)
    share.arrive(0)
    assert [share.take_second() for _ in range(3)] == [0, 1, 2]  # at most 2 past the job's item 0
    assert share.take_here(0) is False  # the second took it: the job's connection waits for it ...
    assert share.take_ahead(0) is None  # ... as the item after it is taken too
    share.arrive(1)
    assert share.take_here(1) is False
    assert share.take_ahead(1) is None
    share.arrive(2)
    assert share.take_here(2) is False
    assert share.take_ahead(2) == 3  # the second still runs 2: this connection runs 3 meanwhile
    assert share.take_ahead(2) is None  # one at a time
    assert share.take_second() == 4  # 2 past item 2
    share.arrive(3)
    share.arrive(4)
    assert share.take_here(4) is False
    share.arrive(5)
    assert share.take_here(5) is True  # not taken: the job's connection runs it
    assert share.take_second() == 6 and share.take_ahead(6) == 7
    assert share.take_second() is None and share.take_ahead(7) is None  # none left
    stopped = Share("SELECT 1", [1, 2])
    stopped.stop()
    assert stopped.take_second() is None and stopped.take_ahead(0) is None and stopped.take_here(0) is True


@pytest.mark.django_db(transaction=True)
def test_the_import_goes_on_alone_when_the_second_connection_fails(
    run_import, feed_bytes, vendor, settings, monkeypatch, caplog, second_connections
):
    settings.IMPORTS_BATCH_SIZE = 2
    share = SecondConnection.share

    def failing_batches(helper, shared):
        # The second connection's first batch fails on the server (its statement rolls back).
        if shared.sql.startswith("EXECUTE"):
            shared.sql = "SELECT 1 / 0"
        share(helper, shared)

    monkeypatch.setattr(SecondConnection, "share", failing_batches)
    with caplog.at_level(logging.WARNING, logger="imports.products.staged"):
        job = run_import(feed_bytes(HEADER, *LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_unchanged) == (9, 9, 0)
    assert products(vendor) == sorted((f"S-{n}", f"Produit {n}", Decimal(f"{n}.50"), n) for n in range(1, 10))
    assert "second connection stopped" in caplog.text
    assert no_staging_tables()


@pytest.mark.django_db(transaction=True)
def test_one_connection_when_the_setting_says_so(run_import, feed_bytes, vendor, settings, second_connections):
    settings.IMPORTS_SECOND_CONNECTION = False
    settings.IMPORTS_BATCH_SIZE = 2
    job = run_import(feed_bytes(HEADER, *LINES))

    assert (job.status, job.rows_created) == (TaskStatus.COMPLETED, 9)
    assert second_connections["started"] == 0


def test_inside_a_transaction_everything_runs_on_its_connection(run_import, feed_bytes, settings, second_connections):
    # A second connection would not see what the surrounding transaction has not committed.
    settings.IMPORTS_BATCH_SIZE = 2
    job = run_import(feed_bytes(HEADER, *LINES))

    assert (job.status, job.file_info["reader"], job.rows_created) == (TaskStatus.COMPLETED, "postgresql", 9)
    assert second_connections["started"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_reimport_on_two_connections_writes_only_what_changed(run_import, feed_bytes, vendor, settings):
    settings.IMPORTS_BATCH_SIZE = 2
    run_import(feed_bytes(HEADER, *LINES))
    changed = [line.replace("Produit 4", "Produit quatre") for line in LINES]
    job = run_import(feed_bytes(HEADER, *changed))

    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged) == (9, 0, 1, 8)
    assert Product.objects.get(vendor=vendor, sku="S-4").title == "Produit quatre"


@pytest.mark.django_db(transaction=True)
def test_leftover_tables_of_ended_jobs_are_dropped_and_a_running_jobs_kept(vendor):
    ended = MarketplaceImportJob.objects.create(vendor=vendor, status=TaskStatus.FAILED, triggered_by="manual:test")
    running = MarketplaceImportJob.objects.create(vendor=vendor, status=TaskStatus.RUNNING, triggered_by="manual:test")
    names = {}
    with connection.cursor() as cursor:
        for job in (ended, running):
            names[job.pk] = f"{staged.TABLE_PREFIX}_{job.pk}"
            for suffix in ("", "_special", "_dup"):
                cursor.execute(f"CREATE UNLOGGED TABLE {names[job.pk]}{suffix} (rec bigint)")

    staged.StagedFeed.drop_leftovers()

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE %s ORDER BY relname", [f"{staged.TABLE_PREFIX}%"])
        left = [name for (name,) in cursor.fetchall()]
        for suffix in ("", "_special", "_dup"):
            cursor.execute(f"DROP TABLE {names[running.pk]}{suffix}")
    assert left == sorted(f"{names[running.pk]}{suffix}" for suffix in ("", "_dup", "_special"))


def test_a_database_user_that_may_not_create_tables_gets_the_file_read_in_python(run_import, feed_bytes, vendor):
    # PostgreSQL 15 and later let only the database's owner create tables in the public schema.
    # (Roles and grants made here go with the test's transaction.)
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE wz_import_no_create")
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO wz_import_no_create")
        cursor.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO wz_import_no_create")
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        cursor.execute("SET ROLE wz_import_no_create")
    try:
        job = run_import(feed_bytes(HEADER, *LINES))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert job.file_info["reader"] == "python"
    assert job.file_info["python_reader_because"] == "the database user may not create the staging table"
    assert (job.rows_total, job.rows_created) == (9, 9)


@pytest.mark.django_db(transaction=True)
def test_progress_tells_the_reading_the_check_and_the_batches(vendor, feed_bytes, settings, monkeypatch):
    monkeypatch.setattr(checking, "CHECK_RECORDS", 4)
    settings.IMPORTS_BATCH_SIZE = 5
    Product.objects.create(vendor=vendor, sku="S-1", title="Ancien", price=Decimal("1.50"))  # compared: checked first
    seen = progress_of_import(vendor, feed_bytes(HEADER, *LINES))

    messages = [message.split(" (")[0] if message.startswith("Reading") else message for _, message in seen if message]
    assert messages == [
        "Reading the feed",
        "Checking the rows (4 of 9)", "Checking the rows (8 of 9)", "Checking the rows (9 of 9)",
        "Processing batch 1 of 2", "Processing batch 2 of 2",
    ]
    percents = [percent for percent, message in seen if message]
    assert percents == sorted(percents)


@pytest.mark.django_db(transaction=True)
def test_a_first_import_checks_its_rows_as_its_batches_write_them(vendor, feed_bytes, settings, monkeypatch):
    monkeypatch.setattr(checking, "CHECK_RECORDS", 4)
    settings.IMPORTS_BATCH_SIZE = 5
    seen = progress_of_import(vendor, feed_bytes(HEADER, *LINES))

    messages = [message.split(" (")[0] if message.startswith("Reading") else message for _, message in seen if message]
    assert messages == ["Reading the feed", "Processing batch 1 of 2", "Processing batch 2 of 2"]
    assert Product.objects.filter(vendor=vendor).count() == 9


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", [True, False])
def test_a_first_import_upserts_a_batch_that_meets_a_product_created_meanwhile(
    run_import, feed_bytes, vendor, settings, monkeypatch, second
):
    # The vendor has no products when the import begins, so its batches only insert; another
    # import then creates S-3 before the batches run: that batch is written by the upsert.
    settings.IMPORTS_BATCH_SIZE = 2
    settings.IMPORTS_SECOND_CONNECTION = second
    prepare = feed.prepare_batches

    def product_appears(statements, **kwargs):
        prepare(statements, **kwargs)
        ProductFactory(vendor=vendor, sku="S-3", title="Autre", price=Decimal("1.00"), quantity=0)

    monkeypatch.setattr(feed, "prepare_batches", product_appears)
    job = run_import(feed_bytes(HEADER, *LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.rows_total, job.rows_created, job.rows_updated) == (9, 8, 1)
    assert products(vendor) == sorted((f"S-{n}", f"Produit {n}", Decimal(f"{n}.50"), n) for n in range(1, 10))
    assert no_staging_tables()


def fail_on_the_second_connection(monkeypatch, start: str) -> None:
    """The second connection's statements beginning with ``start`` fail on the server (roll back)."""
    submit = SecondConnection.submit

    def failing(helper, sql, params, answer=False):
        submit(helper, "SELECT 1 / 0" if sql.lstrip().startswith(start) else sql, params, answer)

    monkeypatch.setattr(SecondConnection, "submit", failing)


# A Shopify export: its rows are grouped by Handle, and its sku (Variant SKU) is a cell of its
# own, so the repeated skus are counted beside the group fill, and then the second connection
# indexes the records and looks for values too long for Python's csv.
SHOPIFY_HEADER = "Handle,Title,Body (HTML),Vendor,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src"
SHOPIFY_LINES = [
    line
    for n in range(1, 6)
    for line in (
        f"tee-{n},Tee {n},<p>Cotton.</p>,Atelier,Size,S,TEE-{n}-S,{n}0.00,https://cdn.example.lu/tee-{n}.jpg",
        f"tee-{n},,,,,M,TEE-{n}-M,{n}1.00,",
    )
]


@pytest.mark.django_db(transaction=True)
def test_a_grouped_first_import_has_its_records_indexed_on_the_second_connection(
    run_import, feed_bytes, vendor, settings, second_connections
):
    settings.IMPORTS_BATCH_SIZE = 3
    job = run_import(feed_bytes(SHOPIFY_HEADER, *SHOPIFY_LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.file_info["reader"], job.rows_total, job.rows_created) == ("postgresql", 10, 10)
    assert Product.objects.get(vendor=vendor, sku="TEE-3-M").title == "Tee 3"  # the group's title
    # The count (no row), then the look for long values (none found), then the batches.
    assert second_connections["answers"][:2] == [None, (False,)]
    assert no_staging_tables()


@pytest.mark.django_db(transaction=True)
def test_a_grouped_first_import_finds_a_value_too_long_for_python_on_the_second_connection(
    run_import, feed_bytes, vendor, settings, second_connections
):
    before = csv.field_size_limit(100_000)
    try:
        huge = f'tee-9,Tee 9,"{"x" * 200_000}",Atelier,Size,S,TEE-9-S,9.00,'
        job = run_import(feed_bytes(SHOPIFY_HEADER, *SHOPIFY_LINES, huge))
    finally:
        csv.field_size_limit(before)

    # Python's csv would fail the file, so the file is read there, and fails where Python stops.
    assert job.status == TaskStatus.FAILED
    assert job.file_info["reader"] == "python"
    assert job.file_info["python_reader_because"] == "a value longer than 100,000 characters"
    assert "could not be read as CSV after line 11" in job.error_message
    assert second_connections["answers"][:2] == [None, (True,)]
    assert no_staging_tables()


@pytest.mark.django_db(transaction=True)
def test_a_grouped_first_import_indexes_here_when_the_second_connection_stopped(
    run_import, feed_bytes, vendor, settings, monkeypatch, caplog
):
    # The count of the repeated skus fails on the server: the second connection stops there.
    fail_on_the_second_connection(monkeypatch, "CREATE UNLOGGED TABLE")
    with caplog.at_level(logging.WARNING, logger="imports.products.staged"):
        job = run_import(feed_bytes(SHOPIFY_HEADER, *SHOPIFY_LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.file_info["reader"], job.rows_total, job.rows_created) == ("postgresql", 10, 10)
    assert "second connection stopped" in caplog.text
    assert no_staging_tables()


# A WooCommerce export: variations name their variable product, whose values they take where they
# leave theirs empty; the two halves of the records get them on the two connections at once.
WOO_HEADER = "ID,Type,SKU,Name,Published,In stock?,Stock,Regular price,Categories,Parent"
WOO_LINES = [
    line
    for n in range(1, 5)
    for line in (
        f"{n}0,variable,CAP-{n},Kappe {n},1,1,{n}2,,Hüte > Kappen,",
        *(f"{n}{v},variation,CAP-{n}-{v},,1,1,parent,15,,CAP-{n}" for v in range(1, 4)),
    )
]


def woo_products(vendor) -> dict[str, tuple]:
    return {p.sku: (p.title, p.quantity, p.product_type) for p in Product.objects.filter(vendor=vendor)}


WOO_EXPECTED = {f"CAP-{n}-{v}": (f"Kappe {n}", n * 10 + 2, "Hüte > Kappen") for n in range(1, 5) for v in range(1, 4)}


@pytest.mark.django_db(transaction=True)
def test_variations_get_their_parents_values_on_both_connections(
    run_import, feed_bytes, vendor, settings, second_connections
):
    settings.IMPORTS_BATCH_SIZE = 4
    job = run_import(feed_bytes(WOO_HEADER, *WOO_LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.file_info["reader"], job.rows_total, job.rows_created, job.rows_skipped) == ("postgresql", 12, 12, 4)
    assert woo_products(vendor) == WOO_EXPECTED
    # The second half's parent values (no row), then the count of the repeated skus (no row).
    assert second_connections["answers"][:2] == [None, None]
    assert no_staging_tables()


@pytest.mark.django_db(transaction=True)
def test_variations_get_their_parents_values_here_when_the_second_connection_fails(
    run_import, feed_bytes, vendor, settings, monkeypatch, caplog
):
    # The second half's parent values fail on the server (rolled back): they are set here.
    fail_on_the_second_connection(monkeypatch, "UPDATE")
    with caplog.at_level(logging.WARNING, logger="imports.products.staged"):
        job = run_import(feed_bytes(WOO_HEADER, *WOO_LINES))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert (job.file_info["reader"], job.rows_created) == ("postgresql", 12)
    assert woo_products(vendor) == WOO_EXPECTED
    assert "second connection stopped" in caplog.text
    assert no_staging_tables()


@pytest.mark.django_db(transaction=True)
def test_a_value_too_long_for_python_found_while_the_second_connection_counts(
    run_import, feed_bytes, vendor, settings, second_connections
):
    before = csv.field_size_limit(100_000)
    try:
        job = run_import(feed_bytes(HEADER, *LINES, f"BIG-1,{'x' * 200_000},1 EUR,1"))
    finally:
        csv.field_size_limit(before)

    # Found on this connection while the second counted the repeated skus: read in Python instead.
    assert job.status == TaskStatus.FAILED
    assert job.file_info["python_reader_because"] == "a value longer than 100,000 characters"
    assert "could not be read as CSV after line 10" in job.error_message
    assert second_connections["started"] == 1
    assert no_staging_tables()
