"""Stage 5, the line numbers: where the records handed to Python start in the file, as Python's csv counts."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

# The line breaks inside one record's text ``x``: each LF and each CR, a CRLF counted once.
LINE_BREAKS = (
    "(char_length(x) - char_length(replace(x, E'\\n', ''))) + (char_length(x) - char_length(replace(x, E'\\r', '')))"
    " - (char_length(x) - char_length(replace(x, E'\\r\\n', ''))) / 2"
)


def line_breaks_sql(table: str, cells: Sequence[str]) -> str:
    """Per record after %s up to %s: the line breaks inside the records before it, and through it."""
    joined = " || ".join(f"s.{c}" for c in cells)
    return f"""SELECT rec, SUM(b) OVER (ORDER BY rec) - b, SUM(b) OVER (ORDER BY rec)
        FROM (SELECT s.rec, {LINE_BREAKS} AS b FROM {table} s, LATERAL (SELECT {joined} AS x) j
              WHERE s.rec > %s AND s.rec <= %s) t ORDER BY rec"""


class LineNumbers:
    """The line each record starts on; records are asked for in increasing order, so each batch
    counts the line breaks of its own records only, from where the one before stopped."""

    def __init__(self, table: str, cells: Sequence[str]):
        self.sql = line_breaks_sql(table, cells)
        self._known = (0, 0)  # (record, line breaks inside records up to it)

    def lines(self, records: Sequence[int]) -> dict[int, int]:
        """Return the line each record starts on, as Python's csv module counts lines."""
        if not records:
            return {}
        known, breaks = self._known
        last = max(records)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [known, last])
            wanted = set(records)
            found = {}
            total = 0
            for rec, before, through in cursor.fetchall():
                total = through
                if rec in wanted:
                    # The header is line 1; a record starts after each earlier record's lines.
                    found[rec] = 1 + rec + breaks + before
        self._known = (last, breaks + total)
        return found
