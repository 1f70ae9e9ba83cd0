"""A vendor's saved column mapping: what its files' columns go to, kept for its next imports."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from wizamart.marketplace.feed import FEED_COLUMNS, FeedValueError, feed_column
from wizamart.marketplace.models import Vendor

from .models import VendorColumnMapping, header_signature
from .presets import PRESETS
from .reading import FeedFormat, FeedRows, FeedUnusable, Opener, SkipRow, detect_format, row_parser

# A Product field's name as the feed calls it (the preview's column headings).
FEED_NAMES = {field: column for column, field in FEED_COLUMNS.items()}


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
    """Keep ``preset`` and ``mapping`` (source header -> feed column, on top of the preset) as the vendor's,
    for its files with ``header``'s columns."""
    saved, _ = VendorColumnMapping.objects.update_or_create(
        vendor=vendor,
        defaults={
            "preset": preset,
            "mapping": {cell: target for cell, target in mapping.items() if cell in header},
            "header_signature": header_signature(header),
            "updated_by": updated_by[:100],
        },
    )
    return saved


@dataclass
class PreviewRow:
    line: int
    values: list[str]
    error: str = ""


@dataclass
class ColumnsProposal:
    """What the mapping screen starts from: the file's columns and how they would be read."""

    header: list[str]
    preset: str  # the preset the columns are read with ("" none)
    baseline: dict[str, str]  # how that preset (or the usual names) reads each column: source -> feed column or ""
    baseline_key: str | None  # the column the preset takes the key (id) from
    overrides: dict[str, str]  # the saved mapping's columns, on top of the preset
    fmt: FeedFormat | None  # None: the file cannot be read as it stands (unknown format)
    problem: str = ""  # why not, for the user
    saved: VendorColumnMapping | None = None  # the vendor's saved mapping, when it applies

    @property
    def mapping(self) -> dict[str, str]:
        return {**self.baseline, **self.overrides}

    @property
    def notes(self) -> dict[str, str]:
        """The columns the preset reads by a rule rather than as one feed column, and what they do."""
        return {cell: target for cell, target in self.baseline.items() if target and target not in FEED_COLUMNS}

    @property
    def key(self) -> str | None:
        return next((cell for cell, target in self.overrides.items() if target == "id"), self.baseline_key)


def key_column(mapping: dict[str, str]) -> str | None:
    """The source column an applied mapping takes the key from (of several, the last: a shop's sku column
    comes after its internal id)."""
    return next((cell for cell, target in reversed(mapping.items()) if target == "id"), None)


def _read_as(opener: Opener, preset: str) -> tuple[list[str], dict[str, str], FeedFormat | None, str]:
    """Header, each column's feed column, the format (None if it cannot be read so) and why not."""
    try:
        fmt = detect_format(opener, verify=False, preset=preset or None)
    except FeedUnusable as exc:
        if not exc.header:
            raise
        return exc.header, {cell: feed_column(cell) or "" for cell in exc.header}, None, str(exc)
    return fmt.header, applied_mapping(fmt), fmt, ""


def columns_proposal(*, vendor: Vendor, opener: Opener, preset: str = "") -> ColumnsProposal:
    """How a feed's columns would be read: with the vendor's saved mapping for these columns (unless a
    preset is asked for), else the preset (asked for or recognised), else the usual column names.
    Raise FeedUnusable when the file has no header at all (nothing to map)."""
    header, baseline, fmt, problem = _read_as(opener, preset)
    saved = None if preset else vendor_column_mapping_for(vendor=vendor, header=header)
    overrides: dict[str, str] = {}
    if saved is not None:
        if saved.preset != (fmt.preset if fmt else ""):
            header, baseline, fmt, problem = _read_as(opener, saved.preset)
        overrides = {cell: target for cell, target in saved.mapping.items() if cell in header}
        try:
            fmt, problem = detect_format(opener, verify=False, preset=saved.preset or None, mapping=overrides), ""
        except FeedUnusable as exc:
            fmt, problem = None, str(exc)
    return ColumnsProposal(
        header=header, preset=(fmt.preset if fmt else None) or (saved.preset if saved else preset) or "",
        baseline=baseline, baseline_key=key_column(baseline), overrides=overrides, fmt=fmt, problem=problem, saved=saved,
    )


def feed_preview(opener: Opener, fmt: FeedFormat, *, rows: int = 5) -> tuple[list[str], list[PreviewRow]]:
    """The feed columns the import writes and its first ``rows`` rows as it will import them (or each row's error)."""
    columns = [FEED_NAMES.get(name, name) for name in fmt.fields]
    parse = row_parser(fmt)
    preview = []
    try:
        for line, cells in FeedRows(opener, fmt):
            try:
                preview.append(PreviewRow(line=line, values=[_shown(value) for value in parse(cells)]))
            except SkipRow as exc:
                preview.append(PreviewRow(line=line, values=[], error=f"Skipped: {exc}"))
            except FeedValueError as exc:
                preview.append(PreviewRow(line=line, values=[], error=str(exc)))
            if len(preview) >= rows:
                break
    except (FeedUnusable, UnicodeDecodeError) as exc:
        preview.append(PreviewRow(line=preview[-1].line + 1 if preview else fmt.skip_records + 1, values=[], error=str(exc)))
    return columns, preview


def _shown(value) -> str:
    """A parsed value as the product will hold it (prices with their 2 decimals)."""
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


def applied_mapping(fmt: FeedFormat) -> dict[str, str]:
    """Each source column of the feed and the feed column it goes to ("" when it is not imported), or
    what it does when the preset reads it by a rule ("color or size, by the option's name")."""
    return {cell: fmt.mapping.get(cell, "") for cell in fmt.header}
