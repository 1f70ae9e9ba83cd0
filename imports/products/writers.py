"""Write batches of feed rows as the vendor's products: COPY + one upsert on PostgreSQL, the ORM elsewhere."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter

from django.db import connection, transaction

from wizamart.marketplace.models import Product

from ..conf import imports_settings
from .upsert import STAGE_COLUMNS, compared, upsert_statement

SEEN_TABLE = "imports_seen_sku"
# The staged path leaves a view of this name where the Python path makes a table.
SEEN_KIND = "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)"
STAGE_TABLE = "imports_stage"
_CHUNK = 500  # skus per IN (...) on SQLite


def drop_seen_skus(cursor, *, view_only: bool = False) -> None:
    """Drop this session's seen skus, whichever shape an earlier import on the connection left them in."""
    if connection.vendor != "postgresql":
        cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
        return
    cursor.execute(SEEN_KIND, [SEEN_TABLE])
    row = cursor.fetchone()
    if row and row[0] == "v":
        cursor.execute(f"DROP VIEW {SEEN_TABLE}")
    elif row and not view_only:
        cursor.execute(f"DROP TABLE {SEEN_TABLE}")


class ProductWriter:
    """Upserts rows with distinct skus for one vendor; remembers every sku seen in the feed.

    ``apply`` returns (created, updated); rows not counted are unchanged and were not written.
    With ``dry_run`` nothing is written to products, and the counts say what would happen.
    """

    def __init__(self, *, vendor_id: int, fields: Sequence[str], now: datetime, dry_run: bool):
        self.seen_elsewhere = False  # the feed's skus are known already (a view over the staged file)
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
            drop_seen_skus(cursor)
            cursor.execute(f"CREATE TEMPORARY TABLE {SEEN_TABLE} (sku text NOT NULL)")

    def close(self) -> None:
        with connection.cursor() as cursor:
            drop_seen_skus(cursor)

    def remember(self, skus: Sequence[str]) -> None:
        """Record the sku of every row of a batch (repeats included, rejected rows too)."""
        if self.seen_elsewhere:
            return
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

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction around a batch's writes (its skus, rows and the job's counts): it commits on its own."""
        with transaction.atomic():
            yield

    def prepare(self, rows: Sequence[tuple]) -> object:
        """Return what ``apply`` writes for rows with distinct skus; pure Python, safe in another thread."""
        return rows

    def apply(self, prepared) -> tuple[int, int]:
        """Write what ``prepare`` returned."""
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


def _escape(value: bytes) -> bytes:
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def _marked_copy_text(data: str, *, rows: int, width: int, nulls: int) -> bytes | None:
    """Turn marker-joined values into COPY text, escaping the whole batch at once.

    Markers: \\x00 between values, \\x01 for NULL, \\x02 between rows. None if a value held a marker.
    """
    encoded = data.encode()
    if (
        encoded.count(b"\x00") != rows * (width - 1)
        or encoded.count(b"\x01") != nulls
        or encoded.count(b"\x02") != rows - 1
    ):
        return None
    return _escape(encoded).replace(b"\x00", b"\t").replace(b"\x01", b"\\N").replace(b"\x02", b"\n") + b"\n"


def _plain_copy_text(rows: Sequence[tuple]) -> bytes:
    return b"".join(
        b"\t".join([_escape(v.encode()) if type(v) is str else (b"\\N" if v is None else str(v).encode()) for v in row])
        + b"\n"
        for row in rows
    )


def sku_copy_text(skus: Sequence[str]) -> bytes:
    """Return skus as one-column COPY text."""
    if not skus:
        return b""
    text = _marked_copy_text("\x02".join(skus), rows=len(skus), width=1, nulls=0)
    return text if text is not None else _plain_copy_text([(sku,) for sku in skus])


# Product values that are not text: the price is always there, the others may be NULL.
_NUMERIC = {"price": False, "sale_price": True, "quantity": True}


class RowCopier:
    """COPY text for product rows (values in ``fields`` order), built with C-level loops.

    The text columns of a row are joined in one call; the few numeric columns are formatted
    column by column. ``columns`` is the order the COPY must name: text columns, then numbers.
    """

    def __init__(self, fields: Sequence[str]):
        text_at = [i for i, name in enumerate(fields) if name not in _NUMERIC]
        number_at = [i for i, name in enumerate(fields) if name in _NUMERIC]
        self.columns = tuple(fields[i] for i in (*text_at, *number_at))
        self._width = len(fields)
        self._reorder = itemgetter(*text_at, *number_at)
        # sku, title and currency are always among them, so this picks a tuple.
        self._texts = itemgetter(*text_at)
        self._numbers = [(itemgetter(i), _NUMERIC[fields[i]]) for i in number_at]

    def __call__(self, rows: Sequence[tuple]) -> bytes:
        if not rows:
            return b""
        columns = [map("\x00".join, map(self._texts, rows))]
        nulls = 0
        for pick, nullable in self._numbers:
            values = list(map(pick, rows))
            if nullable:
                nulls += values.count(None)
                columns.append(["\x01" if value is None else str(value) for value in values])
            else:
                columns.append(map(str, values))
        text = _marked_copy_text(
            "\x02".join(map("\x00".join, zip(*columns, strict=True))), rows=len(rows), width=self._width, nulls=nulls
        )
        return text if text is not None else _plain_copy_text(list(map(self._reorder, rows)))


class PostgresCopyWriter(ProductWriter):
    """COPY a batch into a temporary staging table, then one set-based upsert that skips unchanged rows."""

    def open(self) -> None:
        super().open()
        columns = ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS.items())
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE_TABLE} ({columns})")
        changed = [name for name in self.fields if name != "sku"]
        self.copier = RowCopier(self.fields)
        self.copy_sql = f"COPY {STAGE_TABLE} ({', '.join(self.copier.columns)}) FROM STDIN"
        # Text format COPY: None is NULL and '' stays ''.
        self.upsert_sql = upsert_statement(
            table=self.table, source=STAGE_TABLE, values=", ".join(STAGE_COLUMNS), changed=changed
        )
        # A dry run counts what the upsert would write: new skus, and products whose values differ.
        staged = ", ".join(f"s.{name}" for name in changed) + ", TRUE"
        self.preview_sql = f"""
            SELECT COUNT(*) FILTER (WHERE p.id IS NULL),
                   COUNT(*) FILTER (WHERE p.id IS NOT NULL AND ({compared("p", changed)}) IS DISTINCT FROM ({staged}))
            FROM {STAGE_TABLE} s LEFT JOIN {self.table} p ON p.vendor_id = %(vendor)s AND p.sku = s.sku
        """

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        super().close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        with transaction.atomic(), connection.cursor() as cursor:
            # A batch is idempotent and an interrupted job is run again, so its commit need not
            # wait for the WAL flush; the job's final status commits synchronously, which
            # flushes every batch before it.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            yield

    def remember(self, skus: Sequence[str]) -> None:
        if self.seen_elsewhere:
            return
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {SEEN_TABLE} (sku) FROM STDIN") as copy:
            copy.write(sku_copy_text(skus))

    def prepare(self, rows: Sequence[tuple]) -> bytes:
        """The rows as COPY text: a batch waiting to be written holds these bytes, not the rows."""
        return self.copier(rows)

    def apply(self, text: bytes) -> tuple[int, int]:
        params = {"vendor": self.vendor_id, "now": self.now}
        # No transaction of its own: the upsert is one statement, the staging table is private
        # to this session, and the caller's batch() commits the batch as a whole.
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {STAGE_TABLE}")
            with cursor.cursor.copy(self.copy_sql) as copy:
                copy.write(text)
            cursor.execute(self.preview_sql if self.dry_run else self.upsert_sql, params)
            created, updated = cursor.fetchone()
        return created, updated


def product_writer(**kwargs) -> ProductWriter:
    """Return the fastest writer the database supports."""
    if connection.vendor == "postgresql" and imports_settings.USE_COPY:
        return PostgresCopyWriter(**kwargs)
    return PortableWriter(**kwargs)
