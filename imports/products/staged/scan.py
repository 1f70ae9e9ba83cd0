"""Stage 1, the scan: whether PostgreSQL would read the file exactly as Python's csv module does."""
from __future__ import annotations

import csv
import io
import re
from typing import NamedTuple

from ..reading import FeedFormat, Opener, sample_text
from ..xml_feed import XmlFeedFormat

# The encodings PostgreSQL reads, by Python's name for them.
PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252", "iso8859-1": "LATIN1", "latin-1": "LATIN1"}
# Python's whitespace (str.isspace) as UTF-8 bytes, beyond ASCII: NEL, NBSP, U+1680, U+2000-U+200A,
# U+2028, U+2029, U+202F, U+205F, U+3000.
WHITESPACE_UTF8 = rb"(?:\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)"
# A value this long is held while it spans chunks; a longer one has the file read in Python (which
# rejects its row: see reading.CELL_LIMIT).
MAX_CARRY = 8 * 1024 * 1024


class NotStageable(Exception):
    """The file is read in Python instead; the message says why."""


def staging_reason(fmt: FeedFormat, opener: Opener) -> str | None:
    """Return why the file cannot be staged as it is detected, or None when it can be tried."""
    if isinstance(fmt, XmlFeedFormat):
        return "an XML feed: its items are read in Python"
    if fmt.encoding not in PG_ENCODINGS:
        return f"encoding {fmt.encoding}"
    if fmt.skip_records != 1:
        return "a line before the header"
    text = sample_text(opener, fmt.encoding).lstrip("\ufeff")
    if text[:1] in ("\r", "\n"):
        return "blank lines before the header"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter)
    if next(reader, None) != fmt.header or reader.line_num != 1:
        return "the header spans lines"
    return None


def byte_classes(delimiter: str, encoding: str, *, quoted: bool) -> bytes:
    """A bytes.translate() table: S separator, W whitespace, L may start and E may end a longer
    whitespace character, A apostrophe, o anything else. Inside quotes only NUL (the joint of
    the checked pieces) separates, and line breaks are whitespace."""
    table = bytearray(b"o" * 256)
    table[0] = ord("S")
    for byte in b"\t\x0b\x0c\x1c\x1d\x1e\x1f ":
        table[byte] = ord("W")
    for byte in b"\r\n":
        table[byte] = ord("W" if quoted else "S")
    if not quoted:
        table[ord(delimiter)] = ord("S")
    if encoding.startswith("utf"):
        for byte in b"\xc2\xe1\xe2\xe3":
            table[byte] = ord("L")
        for byte in [*range(0x80, 0x8B), 0x9F, 0xA0, 0xA8, 0xA9, 0xAF]:
            table[byte] = ord("E")
    else:  # cp1252 and latin-1: NEL and NBSP are single bytes (0x85 is an ellipsis in cp1252: counted all the same)
        table[0x85] = table[0xA0] = ord("W")
    table[ord("'")] = ord("A")
    return bytes(table)


class ByteClasses(NamedTuple):
    """How to look at a kind of part (outside quotes, or inside): its class table, and the
    patterns of a multi-byte whitespace character at the start and at the end of a value."""

    table: bytes
    lead: re.Pattern
    trail: re.Pattern


class FeedScan:
    """Check the raw bytes, chunk by chunk, on their way to PostgreSQL.

    1. PostgreSQL starts a quoted part at any quote outside one; Python's csv only at the start
       of a value. They agree when every quote that opens a quoted part follows a delimiter, a
       line break, the start of the file or the quote that closed the previous part (a doubled
       quote); anything else raises NotStageable.
    2. Whether some value may start or end with whitespace (``strip``) or start with an
       apostrophe (``apostrophe``): when neither can happen the SQL reads the values as they
       are, without the costly trimming. Both err on the safe side: True means "maybe".

    The file is seen as the parts between its quotes (outside a quoted part, then inside, ...);
    the last part of a chunk is carried over to the next, where it is whole. Values outside
    quotes are checked by classifying every byte (``bytes.translate``) and looking for a
    separator next to whitespace; quoted values by their first and last bytes.
    """

    def __init__(self, delimiter: str, encoding: str):
        self.utf8 = encoding.startswith("utf")
        separator = re.escape(delimiter.encode())
        self._outside = ByteClasses(
            byte_classes(delimiter, encoding, quoted=False),
            re.compile(rb"(?:\A|[\x00\r\n" + separator + rb"])" + WHITESPACE_UTF8),
            re.compile(WHITESPACE_UTF8 + rb"(?:\Z|[\x00\r\n" + separator + rb"])"),
        )
        self._quoted = ByteClasses(
            byte_classes(delimiter, encoding, quoted=True),
            re.compile(rb"(?:\A|\x00)" + WHITESPACE_UTF8),
            re.compile(WHITESPACE_UTF8 + rb"(?:\Z|\x00)"),
        )
        self._separators = (delimiter.encode(), b"\n", b"\r")
        self.allowed = {b"", *self._separators}
        self.strip = False
        self.apostrophe = False
        self.inside = False  # at the end of what was fed
        self._carry = b""
        self._carry_inside = False
        self._carry_starts_value = False  # a carried quoted part: whether it opens a value
        self._at_start = True

    def feed(self, chunk: bytes, final: bool = False) -> None:
        """Check the next chunk of the file (``final``: its last); raise NotStageable."""
        parts = (self._carry + chunk).split(b'"')
        n = len(parts)
        first_inside = self._carry_inside
        self.inside = last_inside = first_inside ^ bool((n - 1) % 2)
        if final:
            if last_inside:
                raise NotStageable("a quoted value is not closed")
            keep = n
        elif not last_inside and not parts[-1] and n >= 2:
            keep = n - 2  # ends with a quote: closing a value, or the first of a doubled pair
        else:
            keep = n - 1
        out_at = 1 if first_inside else 0
        self._check_quotes(parts[out_at : min(keep, n - 1) : 2])
        fragment = b""
        if keep == n - 1 and not last_inside:
            cut = max(parts[-1].rfind(s) for s in self._separators)
            if cut >= 0:
                fragment = parts[-1][: cut + 1]  # ends on a separator: its values are whole
        if not (self.strip and self.apostrophe):
            self._check_edges(parts, keep=keep, out_at=out_at, fragment=fragment, final=final)
        if not final:
            self._carry_over(parts, keep=keep, first_inside=first_inside, fragment=fragment)

    def _check_quotes(self, opening: list[bytes]) -> None:
        """The outside parts followed by a quote must end where a value may start."""
        if opening:
            ends = {part[-1:] for part in opening[1:] if part}  # an empty one follows a closing quote
            ends.add(opening[0][-1:])  # empty only at the start of the file
            if not ends <= self.allowed:
                raise NotStageable("a quote inside an unquoted value")

    def _check_edges(self, parts: list[bytes], *, keep: int, out_at: int, fragment: bytes, final: bool) -> None:
        """Note values with whitespace or an apostrophe at their edges."""
        in_at = 1 - out_at
        outside = parts[out_at:keep:2]
        if fragment:
            outside.append(fragment)
        self._check_values(b"\x00".join(outside), self._outside)
        inside = parts[in_at:keep:2]
        # A quoted part opens a value when the outside part before it is not empty (an empty
        # one lies between the quotes of a doubled quote), and closes it likewise.
        before = parts[in_at - 1 : keep : 2] if in_at else [None, *parts[1:keep:2]]
        after = parts[in_at + 1 : keep + 1 : 2]
        starts = [part[:3] for part, prev in zip(inside, before, strict=False) if prev]
        if in_at == 0 and self._carry_starts_value and inside:
            starts.append(inside[0][:3])
        if in_at == 1 and self._at_start and inside and not parts[0]:
            starts.append(inside[0][:3])  # the file starts with a quoted value
        ends = [part[-3:] for part, nxt in zip(inside, after, strict=False) if nxt]
        if final and len(parts) >= 2 and not parts[-1]:
            ends.append(parts[-2][-3:])  # the file ends with a quoted value
        # Only the first bytes of a quoted value are its start (and the last its end): a space
        # at the cut of "ab cd"[:3] is inside the value.
        self._check_values(b"\x00" + b"\x00".join(starts) + b"\x00", self._quoted, ends=False)
        self._check_values(b"\x00" + b"\x00".join(ends) + b"\x00", self._quoted, starts=False)

    def _carry_over(self, parts: list[bytes], *, keep: int, first_inside: bool, fragment: bytes) -> None:
        """Keep what the next chunk continues: the parts after ``keep`` (or after the fragment)."""
        if fragment:
            self._carry, self._carry_inside = parts[-1][len(fragment) - 1 :], False
        else:
            self._carry = b'"'.join(parts[keep:])
            carry_inside = first_inside ^ bool(keep % 2)
            if carry_inside and keep:
                self._carry_starts_value = bool(parts[keep - 1]) or (keep == 1 and self._at_start)
            self._carry_inside = carry_inside
        self._at_start = False
        if len(self._carry) > MAX_CARRY:
            raise NotStageable(f"a value longer than {MAX_CARRY:,} bytes")

    def _check_values(self, data: bytes, classes: ByteClasses, *, starts: bool = True, ends: bool = True) -> None:
        """Note whitespace or an apostrophe at the start (or end) of a value in ``data`` (values between separators)."""
        kinds = data.translate(classes.table)
        if not self.strip:
            leading = starts and (kinds.startswith((b"W", b"L")) or b"SW" in kinds)
            trailing = ends and (kinds.endswith((b"W", b"E")) or b"WS" in kinds)
            if leading or trailing:
                self.strip = True
            elif self.utf8 and (starts and b"SL" in kinds or ends and b"ES" in kinds):
                # A multi-byte character next to a separator: whitespace only if it is one.
                self.strip = bool(starts and classes.lead.search(data) or ends and classes.trail.search(data))
        if starts and not self.apostrophe and (kinds.startswith(b"A") or b"SA" in kinds):
            self.apostrophe = True

    def boundary(self, chunk: bytes) -> int:
        """Return the end of the last whole record in ``chunk`` (after ``feed``), or -1 if none ends in it."""
        if self.inside:
            return -1
        tail = chunk.rsplit(b'"', 1)[-1]
        cut = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
        if cut < 0:
            return -1
        cut += len(chunk) - len(tail)
        if chunk[cut : cut + 1] == b"\r" and cut + 1 == len(chunk):
            return -1  # a "\r\n" may be split across chunks
        if chunk[cut : cut + 1] == b"\r" and chunk[cut + 1 : cut + 2] == b"\n":
            cut += 1
        return cut + 1
