"""An XML feed is read as a stream: items come while the file is read, and memory does not grow with it."""
import io
import tracemalloc

from imports.products import xml_feed

ITEM = (
    "<item><g:id>S-{n}</g:id><g:title>Produit {n} &amp; co</g:title>"
    "<description><![CDATA[<p>Description {n}</p>]]></description><g:price>{n}.99 EUR</g:price></item>\n"
)


def feed(items: int) -> bytes:
    body = "".join(ITEM.format(n=n) for n in range(items))
    return f'<?xml version="1.0"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>\n{body}</channel></rss>\n'.encode()


def test_items_come_while_the_file_is_still_being_read(monkeypatch):
    monkeypatch.setattr(xml_feed, "READ_SIZE", 4096)
    content = feed(5000)
    items = xml_feed.XmlItems(lambda: io.BytesIO(content))

    seen = []
    for item in items:
        seen.append((item.values["id"], items.position()))

    assert [sku for sku, _ in seen] == [f"S-{n}" for n in range(5000)]
    assert seen[0][1] == 4096  # the first item came with the first block
    assert seen[-1][1] == len(content)


def peak_memory_reading(content: bytes) -> tuple[int, int]:
    """The items read and the most memory Python held while reading them."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in xml_feed.XmlItems(lambda: io.BytesIO(content)))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_feed_grows():
    small, large = feed(2_000), feed(40_000)

    small_count, small_peak = peak_memory_reading(small)
    large_count, large_peak = peak_memory_reading(large)

    assert (small_count, large_count) == (2_000, 40_000)
    # Twenty times the items (and bytes), not twice the memory: one read block and one item are held.
    assert len(large) > 19 * len(small)
    assert large_peak < 2 * small_peak
