"""A vendor's saved column mapping: what its files' columns go to, kept for its next imports."""
from __future__ import annotations

from wizamart.marketplace.models import Vendor

from .models import VendorColumnMapping, header_signature
from .presets import PRESETS


def vendor_column_mapping_get(*, vendor: Vendor) -> VendorColumnMapping | None:
    """The vendor's saved mapping, unless it names a preset that no longer exists."""
    saved = VendorColumnMapping.objects.filter(vendor=vendor).first()
    if saved is None or (saved.preset and saved.preset not in PRESETS):
        return None
    return saved


def vendor_column_mapping_for(*, vendor: Vendor, header: list[str] | None) -> VendorColumnMapping | None:
    """The vendor's saved mapping if it was made for a file with these columns."""
    saved = vendor_column_mapping_get(vendor=vendor) if header else None
    return saved if saved is not None and saved.applies_to(header) else None


def vendor_column_mapping_save(
    *, vendor: Vendor, header: list[str], preset: str, mapping: dict[str, str], updated_by: str = ""
) -> VendorColumnMapping:
    """Keep ``mapping`` (source header -> feed column) as the vendor's, for files with ``header``'s columns."""
    saved, _ = VendorColumnMapping.objects.update_or_create(
        vendor=vendor,
        defaults={
            "preset": preset,
            "mapping": {cell: mapping.get(cell, "") for cell in header},
            "header_signature": header_signature(header),
            "updated_by": updated_by[:100],
        },
    )
    return saved
