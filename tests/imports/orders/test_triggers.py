"""Every way to start an order import goes through order_import_create: API, admin page, command; the key command."""
import io
import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from background_tasks.models import AdminNotification
from background_tasks.status import TaskStatus
from imports.orders.models import LetzshopHistoricalImportJob
from tests.factories import VendorFactory
from wizamart.marketplace.models import Order, Vendor

from .conftest import API_KEY, served_nodes

pytestmark = pytest.mark.usefixtures("fast_retries")
URL = "/api/v1/imports/orders"


def test_api_trigger_answers_202_and_the_job_imports(fake_letzshop, vendor, catalogue, staff_client, run_on_commit):
    fake_letzshop(shipments=30)
    response = run_on_commit(staff_client.post, URL, {"vendor": "maison-lux"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["task_type"] == "order_import" and body["status_url"] == f"/api/v1/admin/background-tasks/{body['job_id']}"
    status = staff_client.get(body["status_url"]).json()
    assert status["status"] == TaskStatus.COMPLETED
    assert status["details"]["orders_created"] == 30
    assert status["details"]["source"] == "api"
    assert Order.objects.filter(vendor=vendor).count() == 30


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"vendor": "nobody"}, "vendor", 'No vendor with code "nobody".'),
        ({"vendor": "maison-lux", "since": "last tuesday"}, "since", "Datetime has wrong format"),
        ({}, "vendor", "This field is required."),
    ],
)
def test_api_trigger_refuses_bad_input_with_field_errors(vendor, staff_client, payload, field, message):
    VendorFactory(code="no-key")
    response = staff_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not LetzshopHistoricalImportJob.objects.exists()


def test_api_trigger_needs_staff(anon_client, user_client, vendor):
    assert anon_client.post(URL, {"vendor": "maison-lux"}, format="json").status_code == 401
    assert user_client.post(URL, {"vendor": "maison-lux"}, format="json").status_code == 403


def test_json_file_source_imports_the_shipments_it_holds(fake_letzshop, vendor, catalogue, staff_client, run_on_commit):
    server = fake_letzshop(shipments=130, bad_every=50)
    nodes = served_nodes(server)
    upload = SimpleUploadedFile("backfill.json", json.dumps({"nodes": nodes}).encode(), content_type="application/json")
    response = run_on_commit(staff_client.post, URL, {"vendor": "maison-lux", "file": upload}, format="multipart")
    assert response.status_code == 202, response.content
    job = LetzshopHistoricalImportJob.objects.get(pk=response.json()["job_id"])

    assert job.status == TaskStatus.COMPLETED_WITH_WARNINGS
    assert (job.source, job.source_name, job.pages_fetched) == ("file", "backfill.json", 2)
    assert (job.shipments_seen, job.orders_created, job.orders_rejected) == (130, 128, 2)
    assert server.requests == []  # the API was not asked
    assert set(Order.objects.values_list("external_id", flat=True)) == {n["id"] for n in nodes if "," not in n["order"]["total"]}


def test_a_file_that_is_not_json_fails_the_job_readably(vendor, staff_client, run_on_commit):
    upload = SimpleUploadedFile("orders.json", b"{not json", content_type="application/json")
    response = run_on_commit(staff_client.post, URL, {"vendor": "maison-lux", "file": upload}, format="multipart")
    job = LetzshopHistoricalImportJob.objects.get(pk=response.json()["job_id"])
    assert job.status == TaskStatus.FAILED
    assert job.error_message == "The file is not valid JSON (Expecting property name enclosed in double quotes at line 1)."


def test_file_and_since_together_are_refused(vendor, staff_client):
    upload = SimpleUploadedFile("orders.json", b"[]", content_type="application/json")
    response = staff_client.post(URL, {"vendor": "maison-lux", "file": upload, "since": "2024-01-01"}, format="multipart")
    assert response.status_code == 400
    assert "applies to the Letzshop API only" in response.json()["since"][0]


def test_admin_import_orders_page_triggers_through_the_service(fake_letzshop, vendor, catalogue, client, staff_user, run_on_commit):
    fake_letzshop(shipments=20)
    client.force_login(staff_user)
    add_url = "/admin/imports/letzshophistoricalimportjob/add/"
    page = client.get("/admin/imports/letzshophistoricalimportjob/")
    assert page.status_code == 200 and b"Import orders" in page.content
    form = client.get(add_url)
    assert b'name="since_0"' in form.content and b'name="upload"' in form.content

    response = run_on_commit(client.post, add_url, {"vendor": vendor.pk, "since_0": "", "since_1": ""})
    assert response.status_code == 302
    job = LetzshopHistoricalImportJob.objects.get()
    assert job.triggered_by == f"manual:{staff_user.username}"
    assert job.status == TaskStatus.COMPLETED and job.orders_created == 20
    summary = client.get(f"/admin/imports/letzshophistoricalimportjob/{job.pk}/summary/")
    assert b"Orders created" in summary.content and b"<td>20</td>" in summary.content


def test_admin_form_shows_the_api_rules(vendor, client, staff_user):
    client.force_login(staff_user)
    upload = SimpleUploadedFile("orders.json", b"[]", content_type="application/json")
    response = client.post(
        "/admin/imports/letzshophistoricalimportjob/add/",
        {"vendor": vendor.pk, "since_0": "2024-01-01", "since_1": "00:00:00", "upload": upload},
    )
    assert response.status_code == 200
    assert b"applies to the Letzshop API only" in response.content
    assert not LetzshopHistoricalImportJob.objects.exists()


def test_a_vendor_without_a_key_gets_a_failed_job_saying_how_to_set_it(staff_client, run_on_commit, db):
    VendorFactory(code="no-key")
    response = run_on_commit(staff_client.post, URL, {"vendor": "no-key"}, format="json")
    assert response.status_code == 202
    job = LetzshopHistoricalImportJob.objects.get(pk=response.json()["job_id"])
    assert job.status == TaskStatus.FAILED
    assert job.error_message.startswith('Vendor "no-key" has no Letzshop API key: set it')


@pytest.mark.django_db(transaction=True)
def test_command_imports_and_waits_with_a_progress_bar(fake_letzshop, vendor, catalogue):
    fake_letzshop(shipments=45)
    out = io.StringIO()
    call_command("import_orders", "--vendor", "maison-lux", "--wait", stdout=out)
    text = out.getvalue()
    assert "Queued order import #" in text
    assert "order_import #" in text and "100%" in text  # the bar
    assert "Orders: 45 created, 0 updated, 0 unchanged, 0 rejected" in text
    job = LetzshopHistoricalImportJob.objects.get()
    assert job.triggered_by.startswith("cli:")


@pytest.mark.django_db(transaction=True)
def test_command_with_a_file_and_errors(fake_letzshop, vendor, catalogue, tmp_path):
    server = fake_letzshop(shipments=10)
    path = tmp_path / "shipments.json"
    path.write_text(json.dumps(served_nodes(server)))
    out = io.StringIO()
    call_command("import_orders", "--vendor", "maison-lux", "--file", str(path), stdout=out)
    assert "Orders: 10 created" in out.getvalue()
    with pytest.raises(CommandError, match='No vendor with code "ghost"'):
        call_command("import_orders", "--vendor", "ghost")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_orders", "--vendor", "maison-lux", "--file", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="Datetime has wrong format"):
        call_command("import_orders", "--vendor", "maison-lux", "--since", "yesterday")


@pytest.mark.django_db(transaction=True)
def test_command_fails_when_the_import_fails(fake_letzshop, vendor):
    server = fake_letzshop(shipments=10)
    server.script("401")
    with pytest.raises(CommandError, match="refused the vendor's API key"):
        call_command("import_orders", "--vendor", "maison-lux", stdout=io.StringIO())


def test_letzshop_key_reads_stdin_and_never_prints_the_key(db):
    VendorFactory(code="velo-esch")
    out = io.StringIO()
    call_command("letzshop_key", "velo-esch", stdin=io.StringIO("s3cret-key-value\n"), stdout=out)
    assert Vendor.objects.get(code="velo-esch").letzshop_api_key == "s3cret-key-value"
    assert "s3cret-key-value" not in out.getvalue() and "set" in out.getvalue()
    with pytest.raises(CommandError, match="No key given"):
        call_command("letzshop_key", "velo-esch", stdin=io.StringIO("\n"))
    call_command("letzshop_key", "velo-esch", "--clear", stdout=io.StringIO())
    assert Vendor.objects.get(code="velo-esch").letzshop_api_key == ""


def test_vendor_admin_never_shows_the_key_back(vendor, client, staff_user):
    client.force_login(staff_user)
    page = client.get(f"/admin/marketplace/vendor/{vendor.pk}/change/")
    assert page.status_code == 200 and b'name="letzshop_api_key"' in page.content
    assert API_KEY.encode() not in page.content
    listing = client.get("/admin/marketplace/vendor/")
    assert API_KEY.encode() not in listing.content


def test_the_key_is_in_no_response_log_or_job_field(
    fake_letzshop, vendor, catalogue, staff_client, run_on_commit, caplog, client, staff_user, settings
):
    caplog.set_level(logging.DEBUG)
    settings.LETZSHOP_PAGE_SIZE = 20
    server = fake_letzshop(shipments=60, slow_seconds=2.5)
    server.script("503", "reset", "timeout", "ok", "429", "ok", "401")
    server.retry_after = 0
    bodies = []
    response = run_on_commit(staff_client.post, URL, {"vendor": "maison-lux"}, format="json")
    bodies.append(response.content)
    job = LetzshopHistoricalImportJob.objects.get(pk=response.json()["job_id"])
    assert job.status == TaskStatus.FAILED and job.retries == 4  # it met every fault, then the refusal
    bodies.append(staff_client.get(response.json()["status_url"]).content)
    bodies.append(staff_client.get("/api/v1/admin/background-tasks?task_type=order_import").content)
    client.force_login(staff_user)
    bodies.append(client.get(f"/admin/imports/letzshophistoricalimportjob/{job.pk}/change/").content)
    bodies.append(client.get(f"/admin/imports/letzshophistoricalimportjob/{job.pk}/summary/").content)
    fields = [str(getattr(job, f.attname)) for f in job._meta.concrete_fields]
    notes = [n.title + n.message for n in AdminNotification.objects.all()]

    assert server.requests[0].authorization == f"Bearer {API_KEY}"
    assert all(API_KEY.encode() not in body for body in bodies)
    assert all(API_KEY not in value for value in fields + notes)
    assert API_KEY not in caplog.text and API_KEY not in repr(vendor) and API_KEY not in str(vendor)


@pytest.mark.django_db(transaction=True)
def test_an_upload_over_the_limit_is_refused_but_a_local_file_is_not(fake_letzshop, vendor, catalogue, staff_client, settings, tmp_path):
    server = fake_letzshop(shipments=5)
    content = json.dumps(served_nodes(server)).encode()
    settings.LETZSHOP_MAX_FILE_SIZE = len(content) - 1
    upload = SimpleUploadedFile("big.json", content, content_type="application/json")
    response = staff_client.post(URL, {"vendor": "maison-lux", "file": upload}, format="multipart")
    assert response.status_code == 400
    assert "larger than" in response.json()["file"][0]

    path = tmp_path / "big.json"
    path.write_bytes(content)
    out = io.StringIO()
    call_command("import_orders", "--vendor", "maison-lux", "--file", str(path), stdout=out)
    assert "Orders: 5 created" in out.getvalue()


def test_a_vendor_code_with_a_nul_byte_is_a_field_error_not_a_500(staff_client, vendor):
    response = staff_client.post(URL, {"vendor": "maison\x00lux"}, format="json")
    assert response.status_code == 400
    assert response.json()["vendor"] == ['No vendor with code "maisonlux".']
