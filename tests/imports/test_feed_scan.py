"""FeedScan decides which files PostgreSQL may read and whether their values need trimming.

Generated files (csv.writer over random values, some with hand-made malformed lines) are fed
to the scan in random chunk sizes; what it says is checked against what Python's csv module
reads. On PostgreSQL, the files it lets through are COPYed as the import does and must give
exactly Python's records.
"""
from __future__ import annotations

import csv
import io
import random

import pytest

from imports.products.reading import FeedFormat
from imports.products.staged import FeedScan, NotStageable, StagedFeed
from imports.products.staged import copying as staged

WHITESPACE = [" ", "\t", "\u00a0", "\u2003", "\u3000", "\u2028", "\x85", "\x0b", "\x1f"]
ATOMS = ["a", "Z", "é", "ü", "€", "ß", "x y", "l'eau", '"', "'", "=", "\n", "\r\n", "\r", ",", ";", "\t", "|", "\\", "."]
CP1252_UNENCODABLE = {"\u2003", "\u3000", "\u2028", "\x85"}
MALFORMED = [
    'a,12" pizza,b',  # a quote inside an unquoted value
    ' "x",y,z',  # a quote after a space: PostgreSQL opens a quoted part, Python does not
    '"ab"c"d",e,f',  # a second quoted part in one value
    '"ab"c,d,e',  # text after the closing quote: both readers append it
    'x,"a""b" ,y',  # a doubled quote, then a space after the closing quote
    "\\.",  # PostgreSQL's end-of-data marker
    "only-one-value",  # ragged
]


def random_value(rng: random.Random, encoding: str) -> str:
    atoms = [a for a in ATOMS + WHITESPACE if encoding.startswith("utf") or a not in CP1252_UNENCODABLE]
    value = "".join(rng.choice(atoms) for _ in range(rng.choice([0, 1, 1, 2, 3, 5])))
    if rng.random() < 0.1:
        value = "'" + rng.choice(["=SUM(1)", "+33", "plain", ""]) + value
    if rng.random() < 0.15:
        value = rng.choice(WHITESPACE[:3]) + value
    if rng.random() < 0.15:
        value = value + rng.choice(WHITESPACE[:3])
    return value


def generated_file(seed: int, *, malformed: bool) -> tuple[bytes, str, str]:
    """Return (bytes, delimiter, encoding) of a random feed; its first record is a plain header."""
    rng = random.Random(seed)
    delimiter = rng.choice([",", ";", "\t", "|"])
    encoding = rng.choice(["utf-8", "utf-8", "cp1252"])
    width = rng.randint(3, 6)
    out = io.StringIO(newline="")
    writer = csv.writer(
        out, delimiter=delimiter, lineterminator=rng.choice(["\n", "\r\n"]),
        quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    )
    writer.writerow(["id", "title", "price", *[f"extra{i}" for i in range(3, width)]])
    for _ in range(rng.randint(1, 12)):
        if malformed and rng.random() < 0.2:
            out.write(rng.choice(MALFORMED).replace(",", delimiter) + "\n")
        else:
            # Some rows plain, so that files without any edge whitespace or apostrophe occur.
            plain = rng.random() < 0.4
            writer.writerow([f"v{rng.randint(0, 99)}" if plain else random_value(rng, encoding) for _ in range(width)])
    text = out.getvalue()
    if rng.random() < 0.2:
        text = text.rstrip("\r\n")  # no final line break
    return text.encode(encoding), delimiter, encoding


def random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    if not data:
        return [data]
    mode = rng.choice(["bytes", "small", "any", "whole"])
    if mode == "whole":
        return [data]
    chunks, at = [], 0
    while at < len(data):
        size = 1 if mode == "bytes" else rng.randint(1, 8 if mode == "small" else len(data))
        chunks.append(data[at : at + size])
        at += size
    return chunks


def scan(chunks: list[bytes], delimiter: str, encoding: str):
    """Feed the chunks; return ("raise", message) or ("ok", strip, apostrophe)."""
    check = FeedScan(delimiter, encoding)
    try:
        for i, chunk in enumerate(chunks):
            check.feed(chunk, final=i == len(chunks) - 1)
    except NotStageable as exc:
        return ("raise", str(exc))
    return ("ok", check.strip, check.apostrophe)


def verdict(result: tuple) -> tuple:
    return result[:1] if result[0] == "raise" else result


def python_values(data: bytes, delimiter: str, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter))


SEEDS = range(400)


@pytest.mark.parametrize("malformed", [False, True], ids=["well-formed", "with-malformed-lines"])
def test_scan_agrees_with_pythons_csv_whatever_the_chunks(malformed):
    outcomes = {"raise": 0, "ok": 0, "clean": 0}
    for seed in SEEDS:
        data, delimiter, encoding = generated_file(seed, malformed=malformed)
        rng = random.Random(seed * 7919 + 1)
        chunkings = [random_chunks(data, rng) for _ in range(6)] + [[data], [data[i : i + 1] for i in range(len(data))]]
        # (a) The verdict and the flags do not depend on where the chunks end (the reason given may).
        results = {verdict(scan(chunks, delimiter, encoding)) for chunks in chunkings}
        assert len(results) == 1, (seed, data, results)
        result = results.pop()
        outcomes[result[0]] += 1
        if result[0] == "raise":
            continue
        _, strip, apostrophe = result
        values = [value for record in python_values(data, delimiter, encoding) for value in record]
        # (b) What the flags promise about every value Python reads.
        if not strip:
            assert all(value == value.strip() for value in values), (seed, data)
        if not apostrophe:
            assert not any(value.startswith("'") for value in values), (seed, data)
        if not (strip or apostrophe):
            outcomes["clean"] += 1
    # The generated files exercise both verdicts and the fast reading without trimming.
    assert outcomes["ok"] > 50 and outcomes["clean"] > 5, outcomes
    if malformed:
        assert outcomes["raise"] > 50, outcomes


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'id,title\na,12" pizza\n', "quote"),  # unclosed, or a quote inside an unquoted value
        (b'id,title\na,12" or 14" pizza\n', "a quote inside an unquoted value"),
        (b'id,title\na,"unclosed\n', "not closed"),
        (b'id,title\na,"unclosed', "not closed"),
        (b'id,title\n "x",y\n', "a quote inside an unquoted value"),
        (b'id,title\n"ab"c"d",y\n', "a quote inside an unquoted value"),
        (b'id,title\nx,"a"\t"b"\n', "a quote inside an unquoted value"),
    ],
)
def test_known_malformed_files_are_refused(data, reason):
    for size in (1, 2, 3, 5, len(data)):
        result = scan([data[i : i + size] for i in range(0, len(data), size)], ",", "utf-8")
        assert result[0] == "raise" and reason in result[1], (size, result)


@pytest.mark.parametrize(
    ("data", "strip", "apostrophe"),
    [
        (b"id,title\na,b\n", False, False),
        (b"id,title\na ,b\n", True, False),
        (b"id,title\na,\tb\n", True, False),
        (b'id,title\na," b"\n', True, False),
        (b'id,title\na,"b\n"\n', True, False),
        (b"id,title\na,b\xc2\xa0\n", True, False),  # NBSP
        (b"id,title\na,\xe3\x80\x80b\n", True, False),  # U+3000
        (b"id,title\na,\xc3\xa9\n", False, False),  # an accent next to a separator is not whitespace
        (b"id,title\na,'=1\n", False, True),
        (b"id,title\n'a,b\n", False, True),
        (b"id,title\na,\"'=1\"\n", False, True),
        (b"id,title\na,l'eau\n", False, False),
        (b'id,title\na,"ab"c\n', False, False),
        (b'id,title\na,"a""b"\n', False, False),
        # Inner spaces of quoted values are not edges (the scan sees a value's first and last bytes).
        (b'id,title\na,"ab cd"\n', False, False),
        (b'id,title\na,"Un bois, ""x"" y"\n', False, False),
        (b'id,title\na,"ab "\n', True, False),
    ],
)
def test_flags_of_small_files(data, strip, apostrophe):
    for size in (1, 2, 4, len(data)):
        assert scan([data[i : i + size] for i in range(0, len(data), size)], ",", "utf-8") == ("ok", strip, apostrophe)


def test_cp1252_nbsp_is_whitespace():
    assert scan([b"id;title\na;b\xa0\n"], ";", "cp1252") == ("ok", True, False)
    assert scan([b"id;title\na;caf\xe9\n"], ";", "cp1252") == ("ok", False, False)


@pytest.mark.parametrize(
    ("chunk", "inside", "expected"),
    [
        (b"a,b\nc,d", False, 4),
        (b"a,b\r\nc,d", False, 5),
        (b"a,b\r\n", False, 5),
        (b"a,b\r", False, -1),  # the "\n" of a "\r\n" may come next
        (b"a,b\rc", False, 4),  # a lone "\r" ends a record
        (b"a,b", False, -1),
        (b'a,"b\nc",d\ne', False, 10),
        (b'a,"b\nc', True, -1),
        (b'x\ny,"b\nc', True, -1),
    ],
)
def test_boundary(chunk, inside, expected):
    check = FeedScan(",", "utf-8")
    check.feed(chunk)
    assert check.inside is inside
    assert check.boundary(chunk) == expected


def test_boundary_cuts_generated_files_at_record_ends():
    """Cut where boundary() says, each piece holds whole records: Python reads the same records."""
    compared = cut_inside = 0
    for seed in range(200):
        data, delimiter, encoding = generated_file(seed, malformed=False)
        rng = random.Random(seed)
        check = FeedScan(delimiter, encoding)
        pieces, start, at = [], 0, 0
        try:
            for chunk in random_chunks(data, rng):
                at += len(chunk)
                check.feed(chunk)
                cut = check.boundary(chunk)
                if cut >= 0:
                    end = at - len(chunk) + cut
                    pieces.append(data[start:end])
                    start = end
        except NotStageable:
            continue
        pieces.append(data[start:])
        records = [r for piece in pieces if piece for r in python_values(piece, delimiter, encoding)]
        assert records == python_values(data, delimiter, encoding), (seed, pieces)
        compared += 1
        cut_inside += sum(1 for piece in pieces[:-1] if piece) > 1
    # Nearly every generated file is compared, and many were cut in several places.
    assert compared >= 180 and cut_inside >= 80, (compared, cut_inside)


@pytest.mark.django_db
@pytest.mark.postgres
def test_postgresql_copy_reads_what_python_reads(monkeypatch):
    """For files the scan accepts, the staged records are Python's records, cell for cell."""
    from django.db import connection

    from imports.products.writers import SEEN_TABLE

    if connection.vendor != "postgresql":
        pytest.skip("COPY needs PostgreSQL")
    compared = refused = 0
    for seed in range(300):
        data, delimiter, encoding = generated_file(seed, malformed=seed % 3 == 0)
        rng = random.Random(seed)
        # Small chunks and segments: several COPY statements, cut at record ends.
        monkeypatch.setattr(staged, "CHUNK_SIZE", rng.choice([1, 7, 64, 1 << 20]))
        monkeypatch.setattr(staged, "SEGMENT_SIZE", rng.choice([1, 50, 1 << 20]))
        expected = python_values(data, delimiter, encoding)
        header = expected[0]
        fmt = FeedFormat(
            encoding=encoding, delimiter=delimiter, header=header, columns={"id": 0, "title": 1, "price": 2},
            fields=("sku", "title", "price", "currency"),
        )
        feed = StagedFeed(fmt, vendor_id=1, fields=fmt.fields, now=None, dry_run=True)
        with connection.cursor() as cursor:  # the import's writer keeps the feed's skus there
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {SEEN_TABLE} (sku text NOT NULL)")
        try:
            feed.load(lambda data=data: io.BytesIO(data), lambda done: None)
        except NotStageable:
            refused += 1
            continue
        cells = ", ".join(feed.cells)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {cells} FROM {feed.raw_table} ORDER BY rec")
            loaded = [list(row) for row in cursor.fetchall()]
        feed.drop()
        assert loaded == expected[1:], (seed, data)
        compared += 1
    assert compared > 100 and refused > 10, (compared, refused)
