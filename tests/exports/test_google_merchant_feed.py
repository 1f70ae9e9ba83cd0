"""The XML export is a feed Google Merchant Center takes: unique ids, Google's forms, Google's elements only."""
import io
from decimal import Decimal

import defusedxml.ElementTree as SafeET
import pytest
from django.db import connection

from background_tasks.status import TaskStatus
from exports.feeds import XML, FeedFilters, write_feed
from exports.google import google_weight, image_links
from tests.factories import ProductFactory, VendorFactory

from .conftest import file_bytes

pytestmark = pytest.mark.django_db

G = "{http://base.google.com/ns/1.0}"
# Google's product data specification, its attributes by section (support.google.com/merchants/answer/7052112).
GOOGLE_ATTRIBUTES = {
    # basic product data
    "id", "title", "description", "link", "image_link", "additional_image_link", "mobile_link",
    "lifestyle_image_link", "virtual_model_link", "structured_title", "structured_description", "short_title",
    # price and availability
    "availability", "availability_date", "cost_of_goods_sold", "expiration_date", "price", "sale_price",
    "sale_price_effective_date", "unit_pricing_measure", "unit_pricing_base_measure", "installment",
    "subscription_cost", "loyalty_program", "auto_pricing_min_price", "maximum_retail_price",
    # product category
    "google_product_category", "product_type",
    # product identifiers
    "brand", "gtin", "mpn", "identifier_exists",
    # detailed product description
    "condition", "adult", "multipack", "is_bundle", "certification", "energy_efficiency_class",
    "min_energy_efficiency_class", "max_energy_efficiency_class", "age_group", "color", "gender", "material",
    "pattern", "size", "size_type", "size_system", "item_group_id", "product_length", "product_width",
    "product_height", "product_weight", "product_detail", "product_highlight",
    # shopping campaigns and other configurations
    "ads_redirect", "custom_label_0", "custom_label_1", "custom_label_2", "custom_label_3", "custom_label_4",
    "promotion_id",
    # marketplaces
    "external_seller_id",
    # destinations
    "excluded_destination", "included_destination", "shopping_ads_excluded_country", "pause",
    # shipping and tax
    "shipping", "carrier_shipping", "shipping_label", "shipping_weight", "shipping_length", "shipping_width",
    "shipping_height", "ships_from_country", "max_handling_time", "min_handling_time",
    "shipping_transit_business_days", "shipping_handling_business_days", "free_shipping_threshold",
    "transit_time_label", "tax", "tax_category",
}  # fmt: skip
RSS_ITEM_ELEMENTS = {"title", "link", "description"}


def items(data: bytes) -> list:
    return SafeET.fromstring(data).find("channel").findall("item")


def values(item, tag: str) -> list[str]:
    return [child.text for child in item.findall(tag)]


def by_id(data: bytes) -> dict:
    return {item.findtext(G + "id"): item for item in items(data)}


def complete(**fields):
    """A product with every attribute Google requires."""
    defaults = {"link": "https://shop.example/p", "image_link": "https://shop.example/i.jpg", "description": "Text"}
    return ProductFactory(**{**defaults, **fields})


def test_ids_are_unique_in_a_feed_of_every_vendor(run_export):
    lux, esch = VendorFactory(code="maison-lux"), VendorFactory(code="velo-esch")
    complete(vendor=lux, sku="SKU-1")
    complete(vendor=esch, sku="SKU-1")

    job = run_export(format="xml")
    feed = items(file_bytes(job))

    assert job.status == TaskStatus.COMPLETED
    assert sorted(item.findtext(G + "id") for item in feed) == ["maison-lux:SKU-1", "velo-esch:SKU-1"]
    assert sorted(item.findtext(G + "external_seller_id") for item in feed) == ["maison-lux", "velo-esch"]


def test_a_feed_of_one_vendor_keeps_its_skus(run_export):
    vendor = VendorFactory(code="maison-lux")
    complete(vendor=vendor, sku="SKU-1")

    (item,) = items(file_bytes(run_export(vendor=vendor, format="xml")))

    assert item.findtext(G + "id") == "SKU-1"
    assert item.find(G + "external_seller_id") is None


@pytest.mark.parametrize(
    ("stored", "exported"),
    [
        ("1.2 kg", "1.2 kg"),
        ("1.2", "1.2 kg"),
        ("1,5 KG", "1.5 kg"),
        ("250g", "250 g"),
        ("250 grams", "250 g"),
        ("2 lbs", "2 lb"),
        ("12 oz", "12 oz"),
        ("heavy", None),
        ("3 stone", None),
        ("1.2.3 kg", None),
    ],
)
def test_shipping_weight_carries_a_unit_google_knows(run_export, stored, exported):
    vendor = VendorFactory()
    complete(vendor=vendor, sku="W", weight=stored)

    (item,) = items(file_bytes(run_export(vendor=vendor, format="xml")))

    assert item.findtext(G + "shipping_weight") == exported
    assert google_weight(stored) == exported


def test_titles_are_cut_to_150_characters(run_export):
    vendor = VendorFactory()
    long_title = "Vélo électrique " + "très " * 60 + "confortable"
    complete(vendor=vendor, sku="LONG", title=long_title)
    complete(vendor=vendor, sku="SHORT", title="Court")

    feed = by_id(file_bytes(run_export(vendor=vendor, format="xml")))

    assert feed["LONG"].findtext("title") == long_title[:150]
    assert feed["SHORT"].findtext("title") == "Court"


@pytest.mark.parametrize(
    ("identifiers", "exists"),
    [
        ({}, "no"),
        ({"brand": "Minett"}, None),
        ({"gtin": "4006381333931"}, None),
        ({"mpn": "MC-28"}, None),
        ({"brand": "Minett", "gtin": "4006381333931", "mpn": "MC-28"}, None),
    ],
)
def test_identifier_exists_is_no_when_there_is_no_brand_gtin_or_mpn(run_export, identifiers, exists):
    vendor = VendorFactory()
    complete(vendor=vendor, sku="ID", **identifiers)

    (item,) = items(file_bytes(run_export(vendor=vendor, format="xml")))

    assert item.findtext(G + "identifier_exists") == exists


def test_additional_images_are_one_element_each(run_export):
    vendor = VendorFactory()
    complete(vendor=vendor, sku="IMG", additional_image_link=" https://a.example/1.jpg, https://a.example/2.jpg,,\nhttps://a.example/3.jpg ,")

    (item,) = items(file_bytes(run_export(vendor=vendor, format="xml")))

    expected = ["https://a.example/1.jpg", "https://a.example/2.jpg", "https://a.example/3.jpg"]
    assert values(item, G + "additional_image_link") == expected
    assert image_links(" , ") == []


def test_every_element_is_one_google_knows(run_export):
    lux, esch = VendorFactory(code="maison-lux"), VendorFactory(code="velo-esch")
    for vendor in (lux, esch):
        complete(
            vendor=vendor, sku="FULL", additional_image_link="https://a.example/1.jpg,https://a.example/2.jpg",
            sale_price=Decimal("9.99"), brand="B", gtin="4006381333931", mpn="M", google_product_category="1",
            product_type="T", color="C", size="S", weight="1 kg", quantity=7,
        )
        complete(vendor=vendor, sku="BARE", quantity=3)

    for job in (run_export(format="xml"), run_export(vendor=lux, format="xml")):
        feed = items(file_bytes(job))
        tags = {child.tag for item in feed for child in item}
        assert G + "quantity" not in tags
        unknown = {tag for tag in tags if tag not in RSS_ITEM_ELEMENTS and tag.removeprefix(G) not in GOOGLE_ATTRIBUTES}
        assert unknown == set()
        assert {G + "shipping_weight", G + "identifier_exists", G + "additional_image_link"} <= tags


def test_products_missing_required_attributes_are_listed_as_warnings(run_export, staff_client):
    vendor = VendorFactory(code="maison-lux")
    complete(vendor=vendor, sku="OK")
    for n in range(7):
        complete(vendor=vendor, sku=f"NO-LINK-{n}", link="")
    complete(vendor=vendor, sku="NO-IMAGE", image_link="", description="")

    job = run_export(vendor=vendor, format="xml")
    details = staff_client.get(f"/api/v1/admin/background-tasks/{job.pk}").json()["details"]

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert job.row_count == 9  # still exported: the feed is complete, the warnings say what Google will refuse
    assert details["missing_attributes"] == {
        "link": {"count": 7, "examples": [f"NO-LINK-{n}" for n in range(5)]},
        "image_link": {"count": 1, "examples": ["NO-IMAGE"]},
        "description": {"count": 1, "examples": ["NO-IMAGE"]},
    }
    assert details["warnings"][0].startswith("7 products have no link (e.g. NO-LINK-0, NO-LINK-1,")
    assert details["warnings"][1].startswith("1 product has no image_link (e.g. NO-IMAGE)")
    assert len(details["warnings"]) == 3


def test_warning_examples_name_the_feed_ids_in_a_feed_of_every_vendor(run_export):
    complete(vendor=VendorFactory(code="velo-esch"), sku="X", link="")

    job = run_export(format="xml")

    assert job.missing_attributes == {"link": {"count": 1, "examples": ["velo-esch:X"]}}


def test_csv_exports_are_not_checked_against_google(run_export):
    vendor = VendorFactory()
    ProductFactory(vendor=vendor, link="")

    job = run_export(vendor=vendor, format="csv")

    assert job.status == TaskStatus.COMPLETED
    assert job.missing_attributes == {} and job.warnings == []


@pytest.mark.postgres
@pytest.mark.parametrize("all_vendors", [False, True], ids=["one-vendor", "all-vendors"])
def test_the_database_writes_the_same_google_feed_as_python(all_vendors):
    if connection.vendor != "postgresql":
        pytest.skip("the database formats the feed on PostgreSQL only")
    vendor = VendorFactory(code="maison-lux")
    other = VendorFactory(code="velo-esch")
    weights = ["1.2", "1,5 KG", "250g", "2 lbs", "heavy", " 3 kg ", "", "0.250 kg", "12 oz", "1.5 KG", "7 g "]
    for n, weight in enumerate(weights):
        for owner in (vendor, other):
            ProductFactory(
                vendor=owner, sku=f"P-{n}", title=("Très long titre & <b>gras</b> " * 10)[: 100 + 20 * n],
                weight=weight, brand="" if n % 2 else "B", gtin="", mpn="" if n % 3 else "M",
                additional_image_link=[" a.jpg, b.jpg ", "", ",", "x&y.jpg,\tz.jpg"][n % 4],
                description="", link="https://shop.example/?a=1&b=2",
            )
    filters = FeedFilters(vendor_id=None if all_vendors else vendor.pk)

    feeds = []
    for use_sql in (True, False):
        out = io.BytesIO()
        write_feed(filters=filters, fmt=XML, out=out, xml_channel={"title": "t", "link": "l", "description": "d"},
                   on_batch=lambda rows: None, use_sql=use_sql)  # fmt: skip
        feeds.append(out.getvalue())

    assert feeds[0] == feeds[1]
    assert len(items(feeds[0])) == len(weights) * (2 if all_vendors else 1)
