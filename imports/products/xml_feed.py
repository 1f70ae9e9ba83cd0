"""Google Merchant XML feeds (RSS 2.0 or Atom 1.0 with g: elements): recognised by their content, read
with a parser that refuses entities (XXE, billion laughs), item by item, as the import's rows."""
from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.utils import timezone

from background_tasks.jobs import JobFailed
from wizamart.marketplace.feed import (
    ESCAPE_PREFIX,
    FEED_COLUMNS,
    GOOGLE_ATTRIBUTES,
    GOOGLE_NS,
    REQUIRED_COLUMNS,
    SALE_PERIOD_COLUMN,
    SELLER_ID_SEPARATOR,
    neutralise_cell,
)

from ..conf import human_size
from .derive import sale_period_runs
from .reading import PRODUCT_FIELDS, FeedFormat, FeedUnusable, Opener

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS_ROOT, ATOM_ROOT = "rss", f"{{{ATOM_NS}}}feed"
ITEM_TAGS = frozenset({"item", f"{{{ATOM_NS}}}entry"})
ATOM_LINK = f"{{{ATOM_NS}}}link"
SELLER_TAG = f"{{{GOOGLE_NS}}}external_seller_id"
SALE_PERIOD_TAG = f"{{{GOOGLE_NS}}}{SALE_PERIOD_COLUMN}"

# g:<attribute> -> feed column; g:quantity (local inventory feeds) is read too, though Google's
# product data has no such attribute.
GOOGLE_COLUMNS = {f"{{{GOOGLE_NS}}}{attribute}": column for column, attribute in GOOGLE_ATTRIBUTES.items()}
GOOGLE_COLUMNS[f"{{{GOOGLE_NS}}}quantity"] = "quantity"
# RSS 2.0's and Atom's own item elements, used when the item has no g: element for the column.
PLAIN_COLUMNS = {
    "title": "title",
    "link": "link",
    "description": "description",
    f"{{{ATOM_NS}}}title": "title",
    ATOM_LINK: "link",  # read as text only without href
    f"{{{ATOM_NS}}}summary": "description",
    f"{{{ATOM_NS}}}content": "description",
}
# Repeated elements whose values are all kept, comma-separated as in a CSV feed.
REPEATED_COLUMNS = frozenset({"additional_image_link"})

READ_SIZE = 256 * 1024
SNIFF_SIZE = 4096
# A value longer than this fails the file (libxml2 without huge_tree refuses a 10 MB text node too):
# the reader holds one item at a time, and that item's values must stay bounded.
MAX_VALUE_CHARS = 10 * 1024 * 1024
MAX_TOKEN_BYTES = 16 * 1024 * 1024
IGNORED_LISTED = 20
REQUIRED_ELEMENTS = {"id": "a g:id", "title": "a g:title (or title)", "price": "a g:price"}


def looks_like_xml(opener: Opener) -> bool:
    """Whether the file starts as XML does (after a byte order mark and blank space): '<'."""
    with opener() as f:
        head = f.read(SNIFF_SIZE)
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            text = head[len(bom):].decode(encoding, errors="ignore")
            break
    else:
        text = head.removeprefix(codecs.BOM_UTF8).decode("latin-1")
    return text.lstrip(" \t\r\n").startswith("<")


@dataclass
class XmlItem:
    """One item (or Atom entry) as read: its line, feed column values, and seller if it names one."""

    line: int
    values: dict[str, str]
    seller: str = ""
    sale_ended: bool = False  # a g:sale_price whose g:sale_price_effective_date does not run today


class _ItemTarget:
    """A parser target that keeps only the item being read: the text of its direct children.

    Nested elements (g:shipping's g:price) count only as text of the child they are in, so they
    never stand for the item's own attribute. Finished items are collected in ``items``.
    """

    def __init__(self, line: Callable[[], int]):
        self.line = line
        self.items: list[XmlItem] = []
        self.ignored: dict[str, int] = {}
        self.root: str | None = None
        self.depth = 0
        self.item_depth = 0  # 0: outside any item
        self.child: str | None = None  # tag of the direct child being read
        self.chunks: list[str] = []
        self.size = 0
        self.item = XmlItem(line=0, values={})
        self.plain: dict[str, str] = {}  # the item's RSS/Atom title, link, description
        self.repeated: dict[str, list[str]] = {}
        self.sale_period = ""  # the item's g:sale_price_effective_date
        self.today = timezone.localdate().isoformat()
        self.events = 0  # parser callbacks so far: the reader sees whether a block brought any

    def start(self, tag: str, attrib: dict) -> None:
        self.events += 1
        self.depth += 1
        if self.root is None:
            self.root = tag
            if tag not in (RSS_ROOT, ATOM_ROOT):
                raise FeedUnusable(
                    f"The file is XML but not a product feed: its root element is <{_short(tag)}>, where a Google "
                    "Merchant feed has <rss> (RSS 2.0) or <feed> (Atom 1.0)."
                )
        if not self.item_depth:
            if tag in ITEM_TAGS:
                self.item_depth = self.depth
                self.item = XmlItem(line=self.line(), values={})
                self.plain, self.repeated, self.sale_period = {}, {}, ""
            return
        if self.depth == self.item_depth + 1:
            if tag == ATOM_LINK:
                if attrib.get("rel", "alternate") != "alternate":
                    return
                if attrib.get("href", "").strip():
                    self.plain.setdefault("link", attrib["href"].strip())
                    return
                # <link>https://…</link>, as RSS writes it: a feed generator's Atom link without href.
            self.child, self.chunks, self.size = tag, [], 0

    def data(self, text: str) -> None:
        self.events += 1
        if self.child is not None:
            self.size += len(text)
            if self.size > MAX_VALUE_CHARS:
                raise FeedUnusable(
                    f"The item at line {self.item.line} has a <{_short(self.child)}> value longer than "
                    f"{MAX_VALUE_CHARS:,} characters."
                )
            self.chunks.append(text)

    def end(self, tag: str) -> None:
        self.events += 1
        if self.item_depth:
            if self.depth == self.item_depth + 1 and self.child is not None:
                self._keep(self.child, "".join(self.chunks).strip())
                self.child = None
            elif self.depth == self.item_depth:
                self._finish_item()
        self.depth -= 1

    def close(self) -> None:
        if self.root is None:
            raise FeedUnusable("The XML file has no element.")

    def _keep(self, tag: str, text: str) -> None:
        """Note a direct child's text: a g: element beats RSS/Atom's own; repeated ones are gathered."""
        column = GOOGLE_COLUMNS.get(tag)
        if column is None:
            if tag == SELLER_TAG:
                self.item.seller = text
            elif tag == SALE_PERIOD_TAG:
                self.sale_period = self.sale_period or text
            elif tag in PLAIN_COLUMNS:
                self.plain.setdefault(PLAIN_COLUMNS[tag], text)
            elif len(self.ignored) < IGNORED_LISTED or tag in self.ignored:
                self.ignored[tag] = self.ignored.get(tag, 0) + 1
        elif column in REPEATED_COLUMNS:
            if text:
                self.repeated.setdefault(column, []).append(text)
        else:
            self.item.values.setdefault(column, text)

    def _finish_item(self) -> None:
        values = self.item.values
        for column, text in self.plain.items():
            values.setdefault(column, text)
        for column, texts in self.repeated.items():
            values[column] = ",".join(texts)
        if values.get("sale_price") and not sale_period_runs(self.sale_period, self.today):
            # Google applies a sale price only while its period runs: before or after it, there is none.
            values["sale_price"], self.item.sale_ended = "", True
        self.items.append(self.item)
        self.item_depth = 0


def _short(tag: str) -> str:
    """A tag as a person writes it: 'g:price' for Google's namespace, the local name otherwise."""
    if tag.startswith(f"{{{GOOGLE_NS}}}"):
        return "g:" + tag.split("}", 1)[1]
    return tag.rsplit("}", 1)[-1]


class XmlItems:
    """Iterate a feed's items as a stream (one read block at a time); ``position()`` is the bytes read."""

    def __init__(self, opener: Opener):
        self.opener = opener
        self.read = 0
        self.ignored: dict[str, int] = {}
        self.flavour = ""

    def position(self) -> int:
        return self.read

    def __iter__(self) -> Iterator[XmlItem]:
        self.read = 0
        # The target reads the line of each item's start tag from the parser, while it parses.
        target = _ItemTarget(line=lambda: parser.parser.CurrentLineNumber)
        parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
        try:
            with self.opener() as f:
                quiet = 0  # bytes fed since the parser last reported anything
                while block := f.read(READ_SIZE):
                    self.read += len(block)
                    events = target.events
                    parser.feed(block)
                    quiet = quiet + len(block) if target.events == events else 0
                    if quiet > MAX_TOKEN_BYTES:
                        # expat holds a tag or comment whole until it ends: a huge one would fill memory.
                        raise FeedUnusable(f"The XML feed has a tag or comment longer than {human_size(MAX_TOKEN_BYTES)}.")
                    yield from self._take(target)
                parser.close()
            yield from self._take(target)
        except ParseError as exc:
            raise FeedUnusable(f"The file could not be read as XML: {exc}.") from None
        except DefusedXmlException as exc:
            raise FeedUnusable(
                "The XML feed declares entities or refers to outside files, which are refused: they can read "
                f"files of the server or expand to gigabytes ({exc})."
            ) from None
        finally:
            self.ignored = target.ignored
            self.flavour = "Atom 1.0" if target.root == ATOM_ROOT else "RSS 2.0"

    @staticmethod
    def _take(target: _ItemTarget) -> list[XmlItem]:
        items, target.items = target.items, []
        return items


def seller_sku(item: XmlItem) -> tuple[str, str] | None:
    """(seller, sku) of an item of a feed of every vendor ("<vendor code>:<sku>" with that vendor as
    g:external_seller_id); None for any other item."""
    sku = item.values.get("id", "")
    prefix = item.seller + SELLER_ID_SEPARATOR
    if item.seller and sku.startswith(prefix):
        return item.seller, sku[len(prefix):]
    return None


@dataclass
class XmlFeedFormat(FeedFormat):
    """A Google Merchant XML feed: its rows have one cell per feed column its items carry."""

    flavour: str = ""
    items: int = 0
    vendor_code: str = ""
    other_vendors: dict[str, int] = field(default_factory=dict)  # items left out, by vendor code
    ignored_elements: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        info = {
            "format": f"Google Merchant XML ({self.flavour})",
            "items": self.items,
            "columns": list(self.header),
            "ignored_elements": self.ignored_elements,
        }
        if self.other_vendors:
            info["items_of_other_vendors"] = sum(self.other_vendors.values())
        return info

    def rows(self, opener: Opener) -> XmlFeedRows:
        return XmlFeedRows(opener, self)


class XmlFeedRows:
    """The feed's items as the import's records: (line of the item's start tag, cells in header order).

    In a feed of every vendor, only this vendor's items are rows, their ids without the vendor prefix.
    """

    def __init__(self, opener: Opener, fmt: XmlFeedFormat):
        self.fmt = fmt
        self.items = XmlItems(opener)

    def position(self) -> int:
        return self.items.position()

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        header, vendor = self.fmt.header, self.fmt.vendor_code
        for item in self.items:
            owned = seller_sku(item)
            if owned is not None:
                if owned[0] != vendor:
                    continue
                item.values["id"] = owned[1]
            cells = [item.values.get(column, "") for column in header]
            if any(cell[:1] == ESCAPE_PREFIX for cell in cells):
                # The import undoes a spreadsheet guard ("'=...") a CSV export put on a cell; XML has
                # none, so a value that starts with an apostrophe gets one, and comes out as it was.
                cells = [neutralise_cell(cell) if cell[:1] == ESCAPE_PREFIX else cell for cell in cells]
            yield item.line, cells


def detect_xml_format(opener: Opener, *, vendor_code: str, on_progress: Callable[[int], None] | None = None) -> XmlFeedFormat:
    """Read the whole feed once (nothing is written before it proved well-formed and safe): the columns its
    items carry, how many there are, whose they are. Raise FeedUnusable saying what is wrong."""
    items = XmlItems(opener)
    present: set[str] = set()
    count = 0
    other_vendors: dict[str, int] = {}
    for item in items:
        owned = seller_sku(item)
        if owned is not None and owned[0] != vendor_code:
            other_vendors[owned[0]] = other_vendors.get(owned[0], 0) + 1
            continue
        count += 1
        present.update(column for column, text in item.values.items() if text)
        if item.sale_ended:  # the feed carries sale prices: one that does not run is none
            present.add("sale_price")
        if on_progress is not None and count % 1000 == 0:
            on_progress(items.position())
    if not count and other_vendors:
        raise FeedUnusable(
            f"No item of this feed belongs to vendor '{vendor_code}': its items are those of "
            f"{', '.join(sorted(other_vendors)[:5])} (g:external_seller_id)."
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in present]
    if count and missing:
        names = " nor ".join(REQUIRED_ELEMENTS[name] for name in missing)
        raise FeedUnusable(f"No item of the XML feed ({items.flavour}) has {names}: the feed cannot be imported.")
    # A feed without items still has the required columns: the import then finds no row.
    header = [column for column in FEED_COLUMNS if column in present or column in REQUIRED_COLUMNS]
    present_fields = {FEED_COLUMNS[name] for name in header} | {"currency"}  # read from the price
    return XmlFeedFormat(
        encoding="",
        delimiter="",
        header=header,
        columns={column: index for index, column in enumerate(header)},
        fields=tuple(f for f in PRODUCT_FIELDS if f in present_fields),
        skip_records=0,
        flavour=items.flavour,
        items=count,
        vendor_code=vendor_code,
        other_vendors=other_vendors,
        ignored_elements=[_short(tag) for tag in items.ignored],
    )


def xml_feed_format(opener: Opener, *, vendor_code: str, size: int, progress) -> XmlFeedFormat | None:
    """The format of a Google Merchant XML feed, None for a file that is not XML; a feed that cannot be
    imported fails the job with the reason (before any product is written)."""
    if not looks_like_xml(opener):
        return None
    progress(0, "Checking the XML feed", force=True)

    def checked(done: int) -> None:
        progress(None, f"Checking the XML feed ({human_size(done)} of {human_size(size)})")

    try:
        return detect_xml_format(opener, vendor_code=vendor_code, on_progress=checked)
    except FeedUnusable as exc:
        raise JobFailed(str(exc)) from None
