"""On PostgreSQL the database formats the feed: it writes what the portable Python writer writes."""
import csv
import io

import pytest

from exports.feeds import CSV, XML, FeedFilters, write_feed

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CHANNEL = {"title": "t", "link": "https://letzshop.lu/", "description": "d"}


def feed(vendor, fmt, use_sql) -> bytes:
    out = io.BytesIO()
    write_feed(
        filters=FeedFilters(vendor_id=vendor.pk), fmt=fmt, out=out, xml_channel=CHANNEL, on_batch=lambda rows: None, use_sql=use_sql
    )
    return out.getvalue()


def test_csv_from_copy_reads_the_same_as_csv_from_python(catalogue):
    vendor, _ = catalogue

    from_copy = list(csv.reader(io.StringIO(feed(vendor, CSV, use_sql=True).decode(), newline="")))
    from_python = list(csv.reader(io.StringIO(feed(vendor, CSV, use_sql=False).decode(), newline="")))

    assert len(from_copy) == len(catalogue[1]) + 1
    assert from_copy == from_python


def test_xml_from_sql_is_byte_identical_to_xml_from_python(catalogue):
    vendor, _ = catalogue

    assert feed(vendor, XML, use_sql=True) == feed(vendor, XML, use_sql=False)
