"""Write batches of feed rows as the vendor's products: COPY + one upsert on PostgreSQL, the ORM elsewhere."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction

from wizamart.marketplace.models import Product

from .conf import import_setting

SEEN_TABLE = "imports_seen_sku"
STAGE_TABLE = "imports_stage"
_CHUNK = 500  # skus per IN (...) on SQLite


class ProductWriter:
    """Upserts rows with distinct skus for one vendor; remembers every sku seen in the feed.

    ``apply`` returns (created, updated); rows not counted are unchanged and were not written.
    With ``dry_run`` nothing is written to products, and the counts say what would happen.
    """

    def __init__(self, *, vendor_id: int, fields: Sequence[str], now: datetime, dry_run: bool):
        self.vendor_id = vendor_id
        self.fields = tuple(fields)
        self.now = now
        self.dry_run = dry_run
        self.table = connection.ops.quote_name(Product._meta.db_table)

    # -- the skus of the feed, for duplicates and "deactivate missing" ------------------------
    # Every sku occurrence is appended (no index: cheap at a million rows); duplicates are
    # counted once at the end with one aggregate.
    def open(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
            cursor.execute(f"CREATE TEMPORARY TABLE {SEEN_TABLE} (sku text NOT NULL)")

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")

    def remember(self, skus: Sequence[str]) -> None:
        """Record the sku of every row of a batch (repeats included, rejected rows too)."""
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {SEEN_TABLE} (sku) VALUES (%s)", [(sku,) for sku in skus])

    def duplicates(self, examples: int) -> tuple[int, list[str]]:
        """Return how many rows repeated an earlier sku, and a few of those skus."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) - COUNT(DISTINCT sku) FROM {SEEN_TABLE}")
            repeats = cursor.fetchone()[0]
            if not repeats:
                return 0, []
            cursor.execute(
                f"SELECT sku FROM {SEEN_TABLE} GROUP BY sku HAVING COUNT(*) > 1 ORDER BY sku LIMIT %s", [examples]
            )
            return repeats, [row[0] for row in cursor.fetchall()]

    def deactivate_missing(self) -> int:
        """Deactivate the vendor's active products whose sku the feed did not carry."""
        # NOT EXISTS (an anti-join) rather than NOT IN, which degrades badly past work_mem.
        where = (
            f"vendor_id = %s AND is_active = %s AND NOT EXISTS "
            f"(SELECT 1 FROM {SEEN_TABLE} s WHERE s.sku = {self.table}.sku)"
        )
        with connection.cursor() as cursor:
            if self.dry_run:
                cursor.execute(f"SELECT COUNT(*) FROM {self.table} WHERE {where}", [self.vendor_id, True])
                return cursor.fetchone()[0]
            with transaction.atomic():
                cursor.execute(
                    f"UPDATE {self.table} SET is_active = %s, updated_at = %s WHERE {where}",
                    [False, self.now, self.vendor_id, True],
                )
                return cursor.rowcount

    def apply(self, rows: Sequence[tuple]) -> tuple[int, int]:
        raise NotImplementedError


class PortableWriter(ProductWriter):
    """The ORM path (SQLite, or PostgreSQL with COPY turned off): same results, fewer rows per second."""

    def apply(self, rows: Sequence[tuple]) -> tuple[int, int]:
        fields = self.fields
        compared = fields[1:]
        existing: dict[str, Product] = {}
        skus = [row[0] for row in rows]
        for start in range(0, len(skus), _CHUNK):
            found = Product.objects.filter(vendor_id=self.vendor_id, sku__in=skus[start : start + _CHUNK]).only(
                *fields, "is_active"
            )
            existing.update((p.sku, p) for p in found)
        new: list[Product] = []
        changed: list[tuple] = []
        for row in rows:
            product = existing.get(row[0])
            if product is None:
                new.append(Product(vendor_id=self.vendor_id, is_active=True, **dict(zip(fields, row, strict=True))))
            elif not product.is_active or any(
                getattr(product, name) != value for name, value in zip(compared, row[1:], strict=True)
            ):
                changed.append(row)
        if not self.dry_run:
            with transaction.atomic():
                Product.objects.bulk_create(new, batch_size=_CHUNK)
                for row in changed:
                    Product.objects.filter(vendor_id=self.vendor_id, sku=row[0]).update(
                        is_active=True, updated_at=self.now, **dict(zip(compared, row[1:], strict=True))
                    )
        return len(new), len(changed)


# Staging columns and the defaults of the Product fields a feed may leave out.
_STAGE_COLUMNS = {
    "sku": "text NOT NULL",
    "title": "text NOT NULL",
    "description": "text NOT NULL DEFAULT ''",
    "link": "text NOT NULL DEFAULT ''",
    "image_link": "text NOT NULL DEFAULT ''",
    "additional_image_link": "text NOT NULL DEFAULT ''",
    "availability": f"text NOT NULL DEFAULT '{Product.Availability.IN_STOCK}'",
    "price": "numeric(12, 2) NOT NULL",
    "currency": "text NOT NULL DEFAULT 'EUR'",
    "sale_price": "numeric(12, 2)",
    "brand": "text NOT NULL DEFAULT ''",
    "gtin": "text NOT NULL DEFAULT ''",
    "mpn": "text NOT NULL DEFAULT ''",
    "condition": f"text NOT NULL DEFAULT '{Product.Condition.NEW}'",
    "google_product_category": "text NOT NULL DEFAULT ''",
    "product_type": "text NOT NULL DEFAULT ''",
    "color": "text NOT NULL DEFAULT ''",
    "size": "text NOT NULL DEFAULT ''",
    "weight": "text NOT NULL DEFAULT ''",
    "quantity": "integer",
}


def _escape(value: bytes) -> bytes:
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def copy_text(rows: Sequence[tuple]) -> bytes:
    """Return rows in COPY's text format, UTF-8: None is NULL and '' stays empty (no FORCE_NOT_NULL needed).

    Values are first joined with control characters as markers and the whole batch is escaped
    at once as bytes (a few C-speed replaces instead of several per value); if a value holds a
    marker character itself, the batch is escaped value by value instead.
    """
    if not rows:
        return b""
    data = "\x02".join(
        ["\x00".join([v if type(v) is str else ("\x01" if v is None else str(v)) for v in row]) for row in rows]
    ).encode()
    nulls = sum(row.count(None) for row in rows)
    if (
        data.count(b"\x00") != len(rows) * (len(rows[0]) - 1)
        or data.count(b"\x01") != nulls
        or data.count(b"\x02") != len(rows) - 1
    ):
        return b"".join(
            b"\t".join([_escape(v.encode()) if type(v) is str else (b"\\N" if v is None else str(v).encode()) for v in row])
            + b"\n"
            for row in rows
        )
    return _escape(data).replace(b"\x00", b"\t").replace(b"\x01", b"\\N").replace(b"\x02", b"\n") + b"\n"


class PostgresCopyWriter(ProductWriter):
    """COPY a batch into a temporary staging table, then one set-based upsert that skips unchanged rows."""

    def open(self) -> None:
        super().open()
        columns = ", ".join(f"{name} {kind}" for name, kind in _STAGE_COLUMNS.items())
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE_TABLE} ({columns})")
        all_columns = ", ".join(_STAGE_COLUMNS)
        changed = [name for name in self.fields if name != "sku"]
        target = ", ".join(f"p.{name}" for name in changed) + ", p.is_active"
        incoming = ", ".join(f"EXCLUDED.{name}" for name in changed) + ", EXCLUDED.is_active"
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in changed)
        self.copy_sql = f"COPY {STAGE_TABLE} ({', '.join(self.fields)}) FROM STDIN"
        # Text format COPY: None is NULL and '' stays ''; xmax = 0 marks an inserted row.
        self.upsert_sql = f"""
            WITH written AS (
                INSERT INTO {self.table} AS p (vendor_id, {all_columns}, is_active, created_at, updated_at)
                SELECT %(vendor)s, {all_columns}, TRUE, %(now)s, %(now)s FROM {STAGE_TABLE}
                ON CONFLICT (vendor_id, sku) DO UPDATE
                SET {updates}, is_active = TRUE, updated_at = EXCLUDED.updated_at
                WHERE ({target}) IS DISTINCT FROM ({incoming})
                RETURNING (p.xmax = 0) AS inserted
            )
            SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) FROM written
        """
        staged = ", ".join(f"s.{name}" for name in changed) + ", TRUE"
        self.preview_sql = f"""
            SELECT COUNT(*) FILTER (WHERE p.id IS NULL),
                   COUNT(*) FILTER (WHERE p.id IS NOT NULL AND ({target}) IS DISTINCT FROM ({staged}))
            FROM {STAGE_TABLE} s LEFT JOIN {self.table} p ON p.vendor_id = %(vendor)s AND p.sku = s.sku
        """

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        super().close()

    def remember(self, skus: Sequence[str]) -> None:
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {SEEN_TABLE} (sku) FROM STDIN") as copy:
            copy.write(copy_text([(sku,) for sku in skus]))

    def apply(self, rows: Sequence[tuple]) -> tuple[int, int]:
        params = {"vendor": self.vendor_id, "now": self.now}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {STAGE_TABLE}")
            with cursor.cursor.copy(self.copy_sql) as copy:
                copy.write(copy_text(rows))
            cursor.execute(self.preview_sql if self.dry_run else self.upsert_sql, params)
            created, updated = cursor.fetchone()
        return created, updated


def product_writer(**kwargs) -> ProductWriter:
    """Return the fastest writer the database supports."""
    if connection.vendor == "postgresql" and import_setting("IMPORTS_USE_COPY"):
        return PostgresCopyWriter(**kwargs)
    return PortableWriter(**kwargs)
