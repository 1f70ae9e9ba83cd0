"""A vendor's column mapping: the job applies a given or saved mapping and reports it; the API and the command take it."""
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob, VendorColumnMapping
from imports.products.mappings import vendor_column_mapping_for, vendor_column_mapping_save
from imports.products.models import header_signature
from tests.factories import VendorFactory
from wizamart.marketplace.models import Product

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/products"
# A shop export whose columns none of the usual names match.
HEADER = "Artikelnummer;Bezeichnung;Preis;Lagerbestand;Intern"
ROWS = ("A-1;Fahrradlampe;12,50 EUR;4;x", "A-2;Klingel;3.20 EUR;0;y")
MAPPING = {"Artikelnummer": "id", "Bezeichnung": "title", "Preis": "price", "Lagerbestand": "quantity", "Intern": ""}


@pytest.fixture
def unknown_feed(feed_bytes):
    return feed_bytes(HEADER, *ROWS)


def stored_products(vendor) -> dict[str, tuple]:
    return {p.sku: (p.title, p.price, p.quantity) for p in Product.objects.filter(vendor=vendor)}


EXPECTED = {"A-1": ("Fahrradlampe", Decimal("12.50"), 4), "A-2": ("Klingel", Decimal("3.20"), 0)}


def test_given_mapping_imports_an_unknown_format_and_is_reported(run_import, unknown_feed, vendor, write_path):
    job = run_import(unknown_feed, requested_mapping=MAPPING)

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert stored_products(vendor) == EXPECTED
    details = job.get_details()
    assert details["column_mapping"] == MAPPING
    assert details["preset"] is None
    assert details["file"]["mapping_from"] == "given"
    assert details["file"]["ignored_columns"] == ["Intern"]


def test_given_mapping_is_saved_for_the_vendor(run_import, unknown_feed, vendor):
    run_import(unknown_feed, requested_mapping=MAPPING)

    saved = VendorColumnMapping.objects.get(vendor=vendor)
    assert saved.mapping == MAPPING
    assert saved.applies_to(HEADER.split(";"))
    assert saved.updated_by == "manual:test"


def test_saved_mapping_reads_the_next_file_with_the_same_columns(run_import, feed_bytes, vendor):
    vendor_column_mapping_save(vendor=vendor, header=HEADER.split(";"), preset="", mapping=MAPPING)

    job = run_import(feed_bytes(HEADER, "A-3;Sattel;40 EUR;1;z"))

    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert stored_products(vendor) == {"A-3": ("Sattel", Decimal("40.00"), 1)}
    assert job.file_info["mapping_from"] == "saved"
    assert job.column_mapping == MAPPING


def test_saved_mapping_ignores_a_file_with_other_columns(run_import, feed_bytes, vendor):
    vendor_column_mapping_save(vendor=vendor, header=HEADER.split(";"), preset="", mapping=MAPPING)

    job = run_import(feed_bytes("Artikelnummer;Bezeichnung;Preis", "A-1;Lampe;2 EUR"))

    assert job.status == TaskStatus.FAILED
    assert "product feed column" in job.error_message
    assert not Product.objects.exists()


def test_given_mapping_beats_the_saved_one(run_import, unknown_feed, vendor):
    vendor_column_mapping_save(
        vendor=vendor, header=HEADER.split(";"), preset="", mapping={**MAPPING, "Intern": "title", "Bezeichnung": ""}
    )

    job = run_import(unknown_feed, requested_mapping=MAPPING)

    assert stored_products(vendor) == EXPECTED
    assert job.file_info["mapping_from"] == "given"
    assert VendorColumnMapping.objects.get(vendor=vendor).mapping == MAPPING


def test_unknown_format_without_a_mapping_fails_readably(run_import, unknown_feed):
    job = run_import(unknown_feed)

    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith("No usable header row")
    assert "'Artikelnummer'" in job.error_message


def test_header_signature_ignores_case_and_spacing_but_not_order():
    assert header_signature(["Preis ", "SKU"]) == header_signature(["preis", "sku"])
    assert header_signature(["Preis", "SKU"]) != header_signature(["SKU", "Preis"])


def test_saved_mapping_is_one_per_vendor(vendor):
    vendor_column_mapping_save(vendor=vendor, header=["a", "b", "c"], preset="", mapping={"a": "id", "b": "title", "c": "price"})
    vendor_column_mapping_save(vendor=vendor, header=["x", "y", "z"], preset="", mapping={"x": "id", "y": "title", "z": "price"})

    assert VendorColumnMapping.objects.filter(vendor=vendor).count() == 1
    assert vendor_column_mapping_for(vendor=vendor, header=["a", "b", "c"]) is None
    assert vendor_column_mapping_for(vendor=vendor, header=["X", "Y", "Z"]).mapping == {"x": "id", "y": "title", "z": "price"}


# --- the API -------------------------------------------------------------------------------


def upload(content: bytes):
    return SimpleUploadedFile("export.csv", content, content_type="text/csv")


def test_api_takes_a_mapping_as_json_text_in_multipart(staff_client, vendor, unknown_feed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            URL, {"vendor": vendor.code, "file": upload(unknown_feed), "mapping": json.dumps(MAPPING)}, format="multipart"
        )

    assert response.status_code == 202, response.json()
    job = MarketplaceImportJob.objects.get(pk=response.json()["job_id"])
    assert job.status == TaskStatus.COMPLETED, job.error_message
    assert stored_products(vendor) == EXPECTED
    status = staff_client.get(response.json()["status_url"]).json()
    assert status["details"]["column_mapping"] == MAPPING


def test_api_takes_a_mapping_object_in_json(staff_client, vendor):
    body = {"vendor": vendor.code, "source_url": "https://feeds.example.com/a.csv", "mapping": MAPPING}

    response = staff_client.post(URL, body, format="json")

    assert response.status_code == 202, response.json()
    assert MarketplaceImportJob.objects.get().requested_mapping == MAPPING


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"preset": "no-such-shop"}, "preset", "no-such-shop"),
        ({"mapping": {**MAPPING, "Intern": "colour"}}, "mapping", "'colour', which is not a feed column"),
        ({"mapping": {**MAPPING, "Preis": ""}}, "mapping", "No column goes to 'price'"),
        ({"mapping": {**MAPPING, "Intern": "title"}}, "mapping", "Only one column can go to 'title'"),
        ({"mapping": "{not json"}, "mapping", "Enter a JSON object"),
        ({"mapping": ["id", "title"]}, "mapping", "Enter a JSON object"),
        ({"mapping": {"a": 1}}, "mapping", "Enter a JSON object"),
    ],
)
def test_api_refuses_a_bad_preset_or_mapping_with_field_errors(staff_client, vendor, extra, field, message):
    body = {"vendor": vendor.code, "source_url": "https://feeds.example.com/a.csv", **extra}

    response = staff_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not MarketplaceImportJob.objects.exists()


def test_api_refuses_bad_mapping_text_in_multipart(staff_client, vendor, unknown_feed):
    body = {"vendor": vendor.code, "file": upload(unknown_feed), "mapping": json.dumps({"Artikelnummer": "id"})}

    response = staff_client.post(URL, body, format="multipart")

    assert response.status_code == 400
    assert "No column goes to 'title', 'price'" in response.json()["mapping"][0]


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def unknown_file(tmp_path, unknown_feed):
    path = tmp_path / "export.csv"
    path.write_bytes(unknown_feed)
    return path


@pytest.mark.django_db(transaction=True)
def test_command_imports_with_a_mapping(unknown_file, capsys):
    vendor = VendorFactory(code="velo")

    call_command("import_products", str(unknown_file), "--vendor", "velo", "--mapping", json.dumps(MAPPING), "--wait")

    assert "Rows: 2 total, 2 created" in capsys.readouterr().out
    assert stored_products(vendor) == EXPECTED
    assert VendorColumnMapping.objects.get(vendor=vendor).mapping == MAPPING


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--preset", "no-such-shop"], "no-such-shop"),
        (["--mapping", "{oops"], "Enter a JSON object"),
        (["--mapping", json.dumps({**MAPPING, "Intern": "nope"})], "'nope', which is not a feed column"),
    ],
)
def test_command_refuses_bad_preset_or_mapping(unknown_file, vendor, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_products", str(unknown_file), "--vendor", vendor.code, *options)

    assert not MarketplaceImportJob.objects.exists()


# --- presets by name -------------------------------------------------------------------------

# A WooCommerce export whose header alone would not say so (the columns a shop may leave out).
WOO = b"ID,SKU,Name,Regular price,Stock\n7,W-1,Lampe,20,3\n8,W-2,Klingel,5,0\n"


def test_api_preset_reads_the_file_as_that_shop_format(staff_client, vendor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            URL, {"vendor": vendor.code, "file": upload(WOO), "preset": "woocommerce"}, format="multipart"
        )

    assert response.status_code == 202, response.json()
    details = staff_client.get(response.json()["status_url"]).json()["details"]
    assert details["preset"] == "woocommerce"
    assert details["column_mapping"]["SKU"] == "id"
    assert sorted(Product.objects.filter(vendor=vendor).values_list("sku", flat=True)) == ["W-1", "W-2"]
    saved = VendorColumnMapping.objects.get(vendor=vendor)
    assert (saved.preset, saved.mapping) == ("woocommerce", {})


def test_preset_with_a_partial_mapping_is_accepted(staff_client, vendor):
    body = {"vendor": vendor.code, "source_url": "https://feeds.example.com/a.csv", "preset": "woocommerce", "mapping": {"Stock": ""}}

    response = staff_client.post(URL, body, format="json")

    assert response.status_code == 202, response.json()
    job = MarketplaceImportJob.objects.get()
    assert (job.requested_preset, job.requested_mapping) == ("woocommerce", {"Stock": ""})


@pytest.mark.django_db(transaction=True)
def test_command_imports_with_a_preset(tmp_path, capsys):
    vendor = VendorFactory(code="lampen")
    path = tmp_path / "woo.csv"
    path.write_bytes(WOO)

    call_command("import_products", str(path), "--vendor", "lampen", "--preset", "woocommerce", "--wait")

    assert "Rows: 2 total, 2 created" in capsys.readouterr().out
    assert MarketplaceImportJob.objects.get().preset == "woocommerce"
    assert Product.objects.get(vendor=vendor, sku="W-1").quantity == 3
