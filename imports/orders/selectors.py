"""Read side of the order import."""
from __future__ import annotations

from datetime import datetime

from wizamart.marketplace.models import Vendor

from .models import LetzshopHistoricalImportJob


def order_import_default_since(*, vendor: Vendor, exclude_id: int | None = None) -> datetime | None:
    """Return where an incremental import starts: the latest change the vendor's last successful API import saw."""
    last = (
        LetzshopHistoricalImportJob.objects.succeeded()
        .filter(vendor=vendor, source=LetzshopHistoricalImportJob.Source.API)
        .exclude(pk=exclude_id)
        .order_by("-completed_at", "-id")
        .values_list("latest_update_seen", flat=True)
        .first()
    )
    return last
