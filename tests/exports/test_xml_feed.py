"""The XML export is a Google Shopping RSS 2.0 feed that a strict parser reads, whatever the text holds."""
from decimal import Decimal

import defusedxml.ElementTree as SafeET
import pytest

from background_tasks.status import TaskStatus
from exports.feeds import XML_ELEMENTS
from tests.factories import ProductFactory, VendorFactory

from .conftest import file_bytes

pytestmark = pytest.mark.django_db

G = "{http://base.google.com/ns/1.0}"


def element_tag(column: str) -> str:
    name = XML_ELEMENTS[column]
    return G + name[2:] if name.startswith("g:") else name


def items_by_id(data: bytes) -> dict[str, dict[str, str]]:
    root = SafeET.fromstring(data)
    items = {}
    for item in root.find("channel").findall("item"):
        fields = {child.tag: child.text or "" for child in item}
        items[fields[G + "id"]] = fields
    return items


def test_feed_is_rss_2_with_the_google_namespace(catalogue, run_export):
    vendor, products = catalogue

    job = run_export(vendor=vendor, format="xml")
    root = SafeET.fromstring(file_bytes(job))

    assert job.status == TaskStatus.COMPLETED
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert "Maison Lux" in channel.findtext("title")
    assert channel.findtext("link") and channel.findtext("description")
    assert len(channel.findall("item")) == job.row_count == len(products)


def test_every_text_survives_escaping(catalogue, run_export):
    vendor, products = catalogue

    items = items_by_id(file_bytes(run_export(vendor=vendor, format="xml")))

    for product in products:
        item = items[product.sku]
        assert item[element_tag("title")] == product.title
        assert item[element_tag("description")] == product.description
        assert item[element_tag("link")] == product.link
        assert item[element_tag("price")] == f"{product.price:.2f} EUR"
        assert item[element_tag("gtin")] == product.gtin


def test_control_characters_are_removed_and_the_rest_kept(run_export):
    vendor = VendorFactory()
    nasty = "a\x01b\x08c\x0bd\x0ce\x1ff\ufffeg\uffffh\ti\nj\rk & <l> ]]> m"
    ProductFactory(vendor=vendor, sku="CTRL", title=nasty, description=nasty)

    data = file_bytes(run_export(vendor=vendor, format="xml"))
    item = items_by_id(data)["CTRL"]

    assert item["title"] == "abcdefgh\ti\nj\rk & <l> ]]> m"
    assert b"]]>" not in data


def test_empty_optional_columns_are_left_out(run_export):
    vendor = VendorFactory()
    ProductFactory(vendor=vendor, sku="BARE", title="Bare", price=Decimal("3"), quantity=None, sale_price=None)

    item = items_by_id(file_bytes(run_export(vendor=vendor, format="xml")))["BARE"]

    assert element_tag("sale_price") not in item
    assert G + "quantity" not in item  # not one of Google's attributes
    assert element_tag("brand") not in item
    assert item[element_tag("price")] == "3.00 EUR"
