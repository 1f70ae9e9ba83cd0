"""What one run of a product import carries from stage to stage: the job, its file, its writer, counts and report."""
from __future__ import annotations

from dataclasses import dataclass, field

from background_tasks.jobs import JobProgress

from .models import MarketplaceImportJob
from .reading import FeedFormat, Opener
from .report import ErrorReport
from .writers import ProductWriter


@dataclass
class ImportCounts:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # rows a preset skips (parent rows), outside the total
    repeated: int = 0  # rows whose sku an earlier row had (the last one wins)
    duplicates: int = 0
    duplicate_examples: list[str] = field(default_factory=list)
    rejected_sample: list[dict] = field(default_factory=list)


@dataclass
class ImportRun:
    """One run of an import job: its feed (``opener``, ``size`` bytes, detected ``fmt``) and what it builds."""

    job: MarketplaceImportJob
    progress: JobProgress
    opener: Opener
    size: int
    fmt: FeedFormat
    writer: ProductWriter
    report: ErrorReport
    counts: ImportCounts = field(default_factory=ImportCounts)


def save_counts(job: MarketplaceImportJob, counts: ImportCounts, deactivated: int = 0) -> None:
    """Store the counts on the job (with its error report's name): each batch commits them with its rows."""
    job.rows_total = counts.total
    job.rows_created = counts.created
    job.rows_updated = counts.updated
    job.rows_unchanged = counts.unchanged
    job.rows_rejected = counts.rejected
    job.rows_skipped = counts.skipped
    job.rows_repeated = counts.repeated
    job.rows_deactivated = deactivated
    job.duplicate_skus = counts.duplicates
    job.rejected_sample = counts.rejected_sample
    job.save(
        update_fields=[
            "rows_total", "rows_created", "rows_updated", "rows_unchanged", "rows_rejected", "rows_skipped", "rows_repeated", "rows_deactivated",
            "duplicate_skus", "rejected_sample", "error_report",
        ]
    )
