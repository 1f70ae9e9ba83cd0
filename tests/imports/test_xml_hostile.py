"""Hostile or broken XML feeds fail the job with a readable message, before any product is written."""
import pytest

from background_tasks.status import TaskStatus
from imports.products import xml_feed
from tests.factories import ProductFactory
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

HEAD = '<?xml version="1.0"?>\n'
RSS_OPEN = '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>\n'
ITEM = "<item><g:id>{sku}</g:id><g:title>{title}</g:title><g:price>5.00 EUR</g:price></item>\n"
RSS_CLOSE = "</channel></rss>\n"


def rss(*items: str, doctype: str = "") -> bytes:
    return (HEAD + doctype + RSS_OPEN + "".join(items) + RSS_CLOSE).encode()


BILLION_LAUGHS = (
    '<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n' for n in range(1, 10))
    + "]>\n"
)
XXE_FILE = '<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
XXE_PARAMETER = '<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>\n'
QUADRATIC = f'<!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]>\n'


@pytest.mark.parametrize(
    ("doctype", "title"),
    [
        (BILLION_LAUGHS, "&lol9;"),
        (XXE_FILE, "&secret;"),
        (XXE_PARAMETER, "safe"),
        (QUADRATIC, "&a;" * 200),
    ],
    ids=["billion-laughs", "xxe-file", "xxe-parameter-entity", "quadratic-blowup"],
)
def test_entities_are_refused_and_nothing_is_written(run_import, vendor, doctype, title):
    ProductFactory(vendor=vendor, sku="KEEP", title="Stored")

    job = run_import(rss(ITEM.format(sku="A-1", title=title), doctype=doctype))

    assert job.status == TaskStatus.FAILED
    assert "entities" in job.error_message and "refused" in job.error_message
    assert "Traceback" not in job.error_message and "root:" not in job.error_message
    assert list(Product.objects.filter(vendor=vendor).values_list("sku", "title")) == [("KEEP", "Stored")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (rss(ITEM.format(sku="A-1", title="ok"))[:-20], "unclosed token: line 3"),
        (rss(ITEM.format(sku="A-1", title="Caf&eacute; &nbsp;")), "undefined entity"),
        (rss(ITEM.format(sku="A-1", title="a < b")), "not well-formed"),
        (b'<?xml version="1.0"?>\n<html><body>shop</body></html>', "root element is <html>"),
        (b"<?xml version=\"1.0\"?>\n", "no element found"),
    ],
    ids=["truncated", "html-entity", "raw-less-than", "not-a-feed", "no-element"],
)
def test_broken_xml_fails_with_a_readable_message_and_writes_nothing(run_import, vendor, content, expected):
    # The first item is fine: it is not written, since the whole feed is checked first.
    job = run_import(content)

    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("The file could not be read as XML") or "<html>" in job.error_message
    assert expected in job.error_message, job.error_message
    assert not Product.objects.filter(vendor=vendor).exists()


def test_a_value_beyond_the_limit_fails_the_feed_naming_the_item(run_import, vendor, monkeypatch):
    monkeypatch.setattr(xml_feed, "MAX_VALUE_CHARS", 1000)
    # Lines: declaration, <rss><channel>, item A-1, a blank line, item A-2.
    content = rss(ITEM.format(sku="A-1", title="ok"), "\n" + ITEM.format(sku="A-2", title="x" * 1001))

    job = run_import(content)

    assert job.status == TaskStatus.FAILED
    assert job.error_message == "The item at line 5 has a <g:title> value longer than 1,000 characters."
    assert not Product.objects.filter(vendor=vendor).exists()


def test_a_feed_without_any_price_fails_naming_the_element(run_import):
    job = run_import(rss("<item><g:id>A-1</g:id><g:title>t</g:title></item>"))

    assert job.status == TaskStatus.FAILED
    assert job.error_message == "No item of the XML feed (RSS 2.0) has a g:price: the feed cannot be imported."


def test_a_huge_tag_or_comment_fails_the_feed_before_it_fills_memory(run_import, vendor, monkeypatch):
    monkeypatch.setattr(xml_feed, "READ_SIZE", 1024)
    monkeypatch.setattr(xml_feed, "MAX_TOKEN_BYTES", 8 * 1024)
    comment = "<!--" + "x" * 20_000 + "-->\n"
    attribute = f'<item note="{"y" * 20_000}"><g:id>A-2</g:id></item>\n'

    for hostile in (comment, attribute):
        job = run_import(rss(ITEM.format(sku="A-1", title="ok"), hostile))

        assert job.status == TaskStatus.FAILED
        assert job.error_message == "The XML feed has a tag or comment longer than 8 KB."
        assert not Product.objects.filter(vendor=vendor).exists()


def test_a_feed_without_items_imports_no_row(run_import, vendor):
    ProductFactory(vendor=vendor, sku="KEEP")

    job = run_import(rss())

    assert job.status != TaskStatus.FAILED, job.error_message
    assert (job.rows_total, job.error_message) == (0, None)
    assert job.file_info["items"] == 0
    assert Product.objects.filter(vendor=vendor, sku="KEEP", is_active=True).exists()
