"""Write side of the order import: create the job; run it page by page, committing the cursor with each page."""
from __future__ import annotations

import logging
import math
import os
import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from background_tasks.files import open_stream, private_storage
from background_tasks.jobs import JobFailed, JobInterrupted, JobProgress, Outcome
from background_tasks.services import background_task_create
from wizamart.marketplace.models import Vendor

from .conf import orders_settings
from .letzshop.client import LetzshopClient, LetzshopError, ShipmentPage
from .models import SAMPLE_SIZE, LetzshopHistoricalImportJob
from .parsing import ShipmentRecord, Unusable, parse_shipment
from .selectors import order_import_default_since
from .serializers import missing_key_message
from .sources import FileUnusable, Prefetcher, api_pages, file_pages, read_shipment_file
from .writers import PageWrite, orders_write_pages, refresh_stale_statistics

FILES_DIR = "imports/order-files"
# Orders a run creates before it checks that the database's statistics know the tables' size.
STATISTICS_CHECK_AFTER = 1000
logger = logging.getLogger(__name__)


def order_import_create(
    *,
    vendor: Vendor,
    triggered_by: str,
    since: datetime | None = None,
    upload=None,
    dispatch: bool = True,
) -> LetzshopHistoricalImportJob:
    """Create an order import from the Letzshop API (or from an uploaded JSON file of shipments) and queue it.

    Input the API's serializer would refuse raises ValidationError (callers validate with it first).
    """
    fields = {"source": LetzshopHistoricalImportJob.Source.API}
    if upload is not None:
        if since is not None:
            raise ValidationError({"since": "`since` applies to the Letzshop API only: a file is imported whole."})
        name = f"{FILES_DIR}/{uuid.uuid4().hex}.json"
        fields = {
            "source": LetzshopHistoricalImportJob.Source.FILE,
            "source_name": os.path.basename(getattr(upload, "name", "") or "")[:255],
            "source_file": private_storage().save(name, upload if hasattr(upload, "chunks") else File(upload, name=name)),
        }
    return background_task_create(
        model=LetzshopHistoricalImportJob, triggered_by=triggered_by, dispatch=dispatch, vendor=vendor, since=since, **fields
    )


def order_import_execute(*, job: LetzshopHistoricalImportJob, progress: JobProgress) -> Outcome:
    """Run the import to its end (or resume it from its committed cursor); return its outcome."""
    return _ImportRun(job=job, progress=progress).run()


class _ImportRun:
    """One run of an import: pages in, orders out, the cursor and the counts committed page by page."""

    def __init__(self, *, job: LetzshopHistoricalImportJob, progress: JobProgress):
        self.job = job
        self.progress = progress
        # Loaded here, in the job's thread: the fetching thread must not touch the database.
        self.vendor = job.vendor
        self.page_size = min(int(orders_settings.PAGE_SIZE), 100)
        self.client: LetzshopClient | None = None
        self._api_url = settings.LETZSHOP_API_URL
        self.retries_before = job.retries
        self.wait_before = job.rate_limit_wait_seconds
        self.created_before = job.orders_created
        self.statistics_checked = False

    def run(self) -> Outcome:
        job = self.job
        resumed = bool(job.cursor)
        if not resumed:
            self._start()
        self.progress(0, f"Resuming after page {job.pages_fetched}" if resumed else "Reading the first page", force=True)
        try:
            with Prefetcher(self._pages, ahead=orders_settings.PREFETCH_PAGES) as pages:
                for batch in pages.batches():
                    self._write(batch)
        except (LetzshopError, FileUnusable) as exc:
            raise JobFailed(str(exc)) from None
        finally:
            if self.client is not None:
                self.client.close()
        return self._outcome()

    def _start(self) -> None:
        """Fix the run's lower bound once; a resumed run keeps it."""
        job = self.job
        if job.source == job.Source.API:
            job.since_used = job.since or order_import_default_since(vendor=self.vendor, exclude_id=job.pk)
        job.latest_update_seen = job.since_used
        self._save(since_used=job.since_used, latest_update_seen=job.latest_update_seen)

    def _pages(self, stop_event):
        """Produce the pages (runs in the fetching thread: HTTP only, no database)."""
        job = self.job
        after = job.cursor or None
        if job.source == job.Source.FILE:
            yield from file_pages(self._file_nodes(), first=self.page_size, after=after)
            return
        if not self.vendor.letzshop_api_key:
            raise JobFailed(missing_key_message(self.vendor))
        self.client = LetzshopClient(api_key=self.vendor.letzshop_api_key, url=self._api_url, stop_event=stop_event)
        since = job.since_used.isoformat() if job.since_used else None
        yield from api_pages(self.client, first=self.page_size, after=after, updated_since=since)

    def _file_nodes(self) -> list:
        try:
            if not self.job.source_file:
                raise FileNotFoundError
            with open_stream(self.job.source_file) as handle:
                content = handle.read()
        except FileNotFoundError:
            raise FileUnusable("The uploaded file is no longer stored.") from None
        return read_shipment_file(content)

    def _write(self, pages: list[ShipmentPage]) -> None:
        """Write the pages fetched so far in one transaction with the last one's cursor (one round of statements)."""
        parsed = [self._parse(page) for page in pages]
        own_transaction = not connection.in_atomic_block
        with transaction.atomic():
            if own_transaction:  # inside someone else's transaction, its commit is not ours to change
                _commit_without_flush_wait()
            written = orders_write_pages(vendor=self.vendor, pages=[records for records, _ in parsed])
            progress = []
            for page, (records, rejected), page_written in zip(pages, parsed, written, strict=True):
                self._count(page, records, rejected, page_written)
                progress.append((self._percent(), self._message()))
            self._checkpoint()
        for percent, message in progress:
            self.progress(percent, message)
        self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """Once a run has created enough orders, make sure the database plans for tables of that size."""
        created = self.job.orders_created - self.created_before
        if not self.statistics_checked and created >= STATISTICS_CHECK_AFTER:
            self.statistics_checked = True
            refresh_stale_statistics(created=created)

    def _parse(self, page: ShipmentPage) -> tuple[list[ShipmentRecord], list[dict]]:
        records, rejected = [], []
        for index, node in enumerate(page.nodes):
            node_id = str(node.get("id") or "") if isinstance(node, dict) else ""
            try:
                if index in page.node_errors:
                    raise Unusable(f"the API reported an error on it: {page.node_errors[index]}")
                records.append(parse_shipment(node))
            except Unusable as exc:
                rejected.append({"shipment": node_id[:100] or "(no id)", "reason": str(exc)})
        return records, rejected

    def _count(self, page: ShipmentPage, records: list[ShipmentRecord], rejected: list[dict], written: PageWrite) -> None:
        job = self.job
        job.cursor = page.end_cursor or job.cursor
        job.total_estimate = page.total_count
        job.pages_fetched += 1
        job.shipments_seen += len(page.nodes)
        job.orders_created += written.created
        job.orders_updated += written.updated
        job.orders_unchanged += written.unchanged
        job.orders_rejected += len(rejected)
        job.items_written += written.items_written
        job.unknown_skus += len(written.unknown_skus)
        job.rejected_sample = (job.rejected_sample + rejected)[:SAMPLE_SIZE]
        unknown = [{"shipment": key, "sku": sku or "(none)"} for key, sku in written.unknown_skus]
        job.unknown_sku_sample = (job.unknown_sku_sample + unknown)[:SAMPLE_SIZE]
        if records:
            newest = max(record.updated_at for record in records)
            job.latest_update_seen = max(filter(None, (job.latest_update_seen, newest)))
        if self.client is not None:
            job.retries = self.retries_before + self.client.stats.retries
            job.rate_limit_wait_seconds = self.wait_before + self.client.stats.rate_limit_wait

    def _checkpoint(self) -> None:
        job = self.job
        self._save(
            cursor=job.cursor,
            latest_update_seen=job.latest_update_seen,
            **{name: getattr(job, name) for name in COUNT_FIELDS},
        )

    def _save(self, **fields) -> None:
        """Write the run's state, only while this run still owns the job (same claim); else stop it."""
        owned = type(self.job).objects.running().filter(pk=self.job.pk, attempts=self.job.attempts)
        if not owned.update(heartbeat_at=timezone.now(), **fields):
            raise JobInterrupted("The job is no longer running under this claim")

    def _percent(self) -> int:
        return min(99, int(self.job.pages_fetched * 100 / self._pages_estimate()))

    def _pages_estimate(self) -> int:
        return max(self.job.pages_fetched, math.ceil(self.job.total_estimate / self.page_size), 1)

    def _message(self) -> str:
        job = self.job
        orders = job.orders_created + job.orders_updated + job.orders_unchanged
        return f"Page {job.pages_fetched:,} of ~{self._pages_estimate():,} ({orders:,} orders)"

    def _outcome(self) -> Outcome:
        job = self.job
        warnings = []
        if job.orders_rejected:
            warnings.append(f"{job.orders_rejected:,} shipment(s) rejected")
        if job.unknown_skus:
            warnings.append(f"{job.unknown_skus:,} item(s) with a sku not in the catalogue (kept without a product link)")
        message = (
            f"{job.orders_created:,} created, {job.orders_updated:,} updated, {job.orders_unchanged:,} unchanged, "
            f"{job.orders_rejected:,} rejected"
        )
        return Outcome(warnings=warnings, message=message)


def _commit_without_flush_wait() -> None:
    """Let this page's commit skip the wait for PostgreSQL's log flush.

    A page's writes and its cursor commit together and are idempotent: a database crash that
    loses the last pages' commits loses their cursor with them, and the run resumes before them.
    The job's final status commits synchronously, which flushes every page before it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


COUNT_FIELDS = (
    "total_estimate", "pages_fetched", "shipments_seen", "orders_created", "orders_updated", "orders_unchanged",
    "orders_rejected", "items_written", "unknown_skus", "retries", "rate_limit_wait_seconds",
    "rejected_sample", "unknown_sku_sample",
)
