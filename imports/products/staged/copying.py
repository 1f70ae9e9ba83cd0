"""Stage 2, the COPY: the file goes to the server as it is, in segments that each end on a record boundary."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from django.db import connection, transaction

from background_tasks.producer import Producer

from ..reading import CHUNK_SIZE, FeedFormat, Opener
from .scan import PG_ENCODINGS, FeedScan, NotStageable

SEGMENT_SIZE = 8 * 1024 * 1024  # bytes per COPY statement: progress is reported between them
CHUNKS_AHEAD = 2  # chunks read and checked while the server reads the one before
# An unquoted line holding only "\." ends COPY's data.
END_MARKER = re.compile(rb"(?:^|[\r\n])\\\.(?:[\r\n]|$)")
# A segment is written again if the job runs again (an unlogged table: nothing to flush either).
SEGMENT_SETTINGS = "SET LOCAL synchronous_commit TO OFF"


def copy_options(fmt: FeedFormat, cells: Sequence[str]) -> str:
    """COPY's options for the file: its delimiter and encoding; an empty value is '' (never NULL)."""
    encoding = PG_ENCODINGS[fmt.encoding]
    delimiter = fmt.delimiter.replace("'", "''")
    options = f"FORMAT csv, DELIMITER E'{delimiter}'" if delimiter != "\t" else "FORMAT csv, DELIMITER E'\\t'"
    return options + f", ENCODING '{encoding}', FORCE_NOT_NULL ({', '.join(cells)})"


def copy_segment_sql(table: str, cells: Sequence[str], *, options: str, header: bool) -> str:
    """One segment of the file into the raw table; the first segment starts with the header, skipped."""
    return f"COPY {table} ({', '.join(cells)}) FROM STDIN WITH ({options}, HEADER {str(header).lower()})"


def copy_feed(
    opener: Opener, *, fmt: FeedFormat, table: str, cells: Sequence[str], on_progress: Callable[[int], None]
) -> tuple[int, FeedScan]:
    """COPY the file into ``table``; return the records it holds and the scan of its bytes.

    Raise NotStageable when the scan finds the file is not one PostgreSQL reads as Python does.
    ``on_progress`` is told the bytes sent after each segment. The next chunks are read and
    checked in a thread while the server reads (the GIL is released while it waits).
    """
    options = copy_options(fmt, cells)
    scan = FeedScan(fmt.delimiter, fmt.encoding)
    records = sent = 0
    carry = b""  # the start of a record that the previous segment left out
    header, done = True, False
    with Producer(checked_chunks(opener, scan), ahead=CHUNKS_AHEAD, name="product-import-scan") as chunks:
        while not done:
            sql = copy_segment_sql(table, cells, options=options, header=header)
            count, written, carry, done = copy_segment(sql, chunks, carry=carry)
            records += count
            header = False
            sent += written
            on_progress(sent)
    return records, scan


def copy_segment(sql: str, chunks: Iterator[tuple[bytes, int]], *, carry: bytes) -> tuple[int, int, bytes, bool]:
    """COPY one segment: ``carry``, then chunks until SEGMENT_SIZE bytes end on a record boundary.

    Return the records copied, the bytes sent, what the next segment starts with, and whether
    the chunks are all sent. Each segment commits on its own, so that progress can be written
    between segments.
    """
    written = len(carry)
    done = False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SEGMENT_SETTINGS)
        with cursor.cursor.copy(sql) as copy:
            if carry:
                copy.write(carry)
            carry = b""
            for chunk, cut in chunks:
                if cut >= 0 and written + cut >= SEGMENT_SIZE:
                    copy.write(chunk[:cut])
                    carry, written = chunk[cut:], written + cut
                    break
                copy.write(chunk)
                written += len(chunk)
            else:
                done = True
        return cursor.cursor.rowcount, written, carry, done


def checked_chunks(opener: Opener, scan: FeedScan) -> Iterator[tuple[bytes, int]]:
    """Yield the file's chunks with the end of their last whole record (-1: none), checked."""
    tail = b""
    with opener() as source:
        chunk = source.read(CHUNK_SIZE)
        while chunk:
            following = source.read(CHUNK_SIZE)
            if not following:
                chunk = chunk.rstrip(b"\r\n")  # blank lines at the end hold no record; COPY refuses them
            if b"\x00" in chunk:
                raise NotStageable("a NUL byte")
            if (b"\\." in tail + chunk[:3] or b"\\." in chunk) and END_MARKER.search(tail + chunk):
                raise NotStageable("a line PostgreSQL reads as the end of its data")
            tail = chunk[-3:]
            scan.feed(chunk, final=not following)
            yield chunk, scan.boundary(chunk) if following else -1
            chunk = following
