"""A batch commits its skus, rows and counts together; only its own commit skips the WAL flush wait."""
import pytest
from django.db import connection
from django.utils import timezone

from imports.products.writers import PostgresCopyWriter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def synchronous_commit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def new_writer(vendor):
    writer = PostgresCopyWriter(
        vendor_id=vendor.pk, fields=("sku", "title", "price", "currency"), now=timezone.now(), dry_run=False
    )
    writer.open()
    return writer


def test_batch_commits_asynchronously_and_leaves_the_session_synchronous(vendor):
    writer = new_writer(vendor)
    try:
        with writer.batch():
            inside = synchronous_commit()
            writer.remember(["A-1"])
        after = synchronous_commit()
    finally:
        writer.close()

    assert (inside, after) == ("off", "on")


def test_a_failed_batch_leaves_no_skus_behind(vendor):
    writer = new_writer(vendor)
    try:
        with writer.batch():
            writer.remember(["A-1", "A-1"])
        with pytest.raises(RuntimeError), writer.batch():
            writer.remember(["B-1", "B-1", "B-1"])
            raise RuntimeError("the batch fails")
        duplicates = writer.duplicates(5)
    finally:
        writer.close()

    assert duplicates == (1, ["A-1"])


def test_a_writer_opens_where_a_staged_import_left_its_view_of_skus(vendor):
    # A staged import that ended without cleaning up leaves its view of the feed's skus on the connection.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY VIEW imports_seen_sku AS SELECT 'A-1'::text AS sku")
    writer = new_writer(vendor)
    try:
        with writer.batch():
            writer.remember(["B-1"])
    finally:
        writer.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('imports_seen_sku')")
        assert cursor.fetchone()[0] is None
