"""The error report of a product import: the rejected rows, safe to open in a spreadsheet, and why each was rejected."""
from __future__ import annotations

import csv
import io
import tempfile
import uuid

from django.core.files import File

from background_tasks.files import private_storage
from wizamart.marketplace.feed import ESCAPE_PREFIX, FORMULA_PREFIXES, report_cell

from .models import MarketplaceImportJob
from .reading import FeedFormat

REPORTS_DIR = "imports/error-reports"


class ErrorReport:
    """The rejected rows plus an ``error`` column: a CSV to fix and import again.

    Each cell is written as the import read it, neutralised as the export neutralises its cells
    (a spreadsheet would run "=...", "+...", "-...", "@..." as a formula): importing the fixed file
    strips the guard again, so the vendor's values come back as they were.
    """

    def __init__(self, fmt: FeedFormat):
        self.fmt = fmt  # its header is read at the first rejected row (the format may be read again before)
        self._file = None
        self._text = None
        self._writer = None
        self._columns: list[str | None] = []

    def add(self, cells: list[str], reason: str) -> None:
        if self._file is None:
            self._start()
        width = len(self._columns)
        cells = (cells + [""] * width)[:width] if len(cells) != width else cells
        # The reason is ours (it may quote a value, never starts with one): only a formula is guarded.
        error = ESCAPE_PREFIX + reason if reason.startswith(FORMULA_PREFIXES) else reason
        self._writer.writerow([*map(report_cell, self._columns, cells), error])

    def _start(self) -> None:
        self._file = tempfile.TemporaryFile(mode="w+b")
        # UTF-8 with a BOM so spreadsheets show accents right; the import reads it back.
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="", write_through=True)
        self._writer = csv.writer(self._text)
        by_index = {index: column for column, index in self.fmt.columns.items()}
        self._columns = [by_index.get(index) for index in range(len(self.fmt.header))]
        self._writer.writerow([*(report_cell(None, name) for name in self.fmt.header), "error"])

    def save(self, job: MarketplaceImportJob) -> str:
        """Store the report in private storage and return its name ('' when no row was rejected)."""
        if self._file is None:
            return ""
        self._text.flush()
        self._file.seek(0)
        name = f"{REPORTS_DIR}/{job.pk}-{uuid.uuid4().hex[:12]}.csv"
        try:
            return private_storage().save(name, File(self._file, name=name))
        finally:
            self.discard()

    def discard(self) -> None:
        if self._text is not None:
            self._text.close()
            self._file = self._text = self._writer = None
