"""Uploads left on the mapping screen: pruned after PENDING_UPLOAD_HOURS, on a local folder or a bucket; never one a job took."""
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from background_tasks.files import UploadExpired, pending_upload_discard
from background_tasks.models import PendingUpload, RetentionPruneRun
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob, VendorColumnMapping
from imports.products.services import product_import_create, product_import_store_pending_feed
from tests.imports.conftest import columns_post

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/imports/marketplaceimportjob/add/"
HEADER = "Artikelnummer;Bezeichnung;Preis"
FEED = f"{HEADER}\nA-1;Fahrradlampe;12,50 EUR\n".encode()
MAPPING = {"Artikelnummer": "id", "Bezeichnung": "title", "Preis": "price"}
EXPIRED = "The uploaded file has expired; upload it again."


@pytest.fixture(params=["local", "s3"])
def storage_kind(request):
    """Each test runs with the private storage in a local folder, then in a bucket of moto's S3 server."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    assert type(storages["private"]).__name__ == ("PrivateS3Storage" if request.param == "s3" else "FileSystemStorage")
    return request.param


@pytest.fixture
def admin_client(client, clerk_user):
    client.force_login(clerk_user)
    return client


def upload(client, vendor, content=FEED) -> tuple[str, str]:
    """Upload a feed on the import form; return the mapping screen's URL and the stored file's name."""
    before = set(PendingUpload.objects.values_list("name", flat=True))
    data = {"vendor": vendor.pk, "marketplace": "letzshop", "upload": SimpleUploadedFile("velo.csv", content)}
    response = client.post(ADD_URL, data)
    assert response.status_code == 302, response.content
    (name,) = set(PendingUpload.objects.values_list("name", flat=True)) - before
    return response.url, name


def stored_feeds() -> set[str]:
    """The feeds in the private storage (listed here to check; the prune never lists)."""
    try:
        _dirs, files = storages["private"].listdir("imports/feeds")
    except FileNotFoundError:  # a local folder not made yet
        return set()
    return {f"imports/feeds/{name}" for name in files}


def stored_ago(name: str, *, hours: float) -> None:
    PendingUpload.objects.filter(name=name).update(stored_at=timezone.now() - timedelta(hours=hours))


@pytest.fixture
def prune(run_on_commit):
    """Run a retention prune job (as beat, the admin or prune_tasks start it); return it finished."""

    def run_prune(*, dry_run=False) -> RetentionPruneRun:
        run = run_on_commit(background_task_create, model=RetentionPruneRun, triggered_by="test", dry_run=dry_run)
        run.refresh_from_db()
        assert run.status == TaskStatus.COMPLETED, run.error_message
        return run

    return run_prune


def test_an_upload_left_on_the_screen_goes_after_the_limit_and_a_younger_one_stays(prune, storage_kind, admin_client, vendor):
    left_url, left = upload(admin_client, vendor)
    _, young = upload(admin_client, vendor)
    stored_ago(left, hours=25)
    stored_ago(young, hours=23)
    assert stored_feeds() == {left, young}

    run = prune()

    assert stored_feeds() == {young}
    assert list(PendingUpload.objects.values_list("name", flat=True)) == [young]
    assert run.summary["totals"]["pending_uploads"] == 1
    assert run.progress_message.endswith("1 uploads never imported")
    # The screen of the pruned upload sends the user back to the form, saying why.
    response = admin_client.get(left_url)
    assert response.status_code == 302 and response.url == ADD_URL
    assert EXPIRED in admin_client.get(ADD_URL).content.decode()


def test_the_limit_is_a_setting(prune, storage_kind, settings, admin_client, vendor):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "PENDING_UPLOAD_HOURS": 2}
    _, old = upload(admin_client, vendor)
    _, young = upload(admin_client, vendor)
    stored_ago(old, hours=3)
    stored_ago(young, hours=1)

    assert prune().summary["totals"]["pending_uploads"] == 1

    assert stored_feeds() == {young}


def test_an_upload_a_job_took_is_never_pruned(prune, storage_kind, admin_client, vendor, django_capture_on_commit_callbacks):
    url, name = upload(admin_client, vendor)
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post(url, columns_post(HEADER.split(";"), MAPPING, "Artikelnummer"))
    job = MarketplaceImportJob.objects.get()
    assert started.status_code == 302 and job.source_file == name
    assert not PendingUpload.objects.exists()  # the job took it
    # Even a row left behind for a file a job holds (however old) never takes the file along.
    PendingUpload.objects.create(name=name, stored_at=timezone.now() - timedelta(days=10))

    run = prune()

    assert run.summary["totals"]["pending_uploads"] == 0
    assert stored_feeds() == {name}
    assert not PendingUpload.objects.exists()
    job.refresh_from_db()
    assert job.status == TaskStatus.COMPLETED, job.error_message


def test_the_dry_run_reports_expired_uploads_and_deletes_nothing(prune, storage_kind, admin_client, vendor, capsys):
    _, old = upload(admin_client, vendor)
    _, young = upload(admin_client, vendor)
    stored_ago(old, hours=30)

    call_command("prune_tasks", "--dry-run")
    run = prune(dry_run=True)

    out = capsys.readouterr().out
    assert "uploads never imported       (after 24 hours)" in out
    assert "and 1 uploads never imported." in out
    assert run.summary["totals"]["pending_uploads"] == 1
    assert stored_feeds() == {old, young}
    assert PendingUpload.objects.count() == 2


def test_starting_the_import_after_a_prune_says_the_upload_expired(prune, storage_kind, admin_client, vendor):
    url, name = upload(admin_client, vendor)
    assert admin_client.get(url).status_code == 200  # the user looks at the columns, then leaves
    stored_ago(name, hours=48)
    prune()

    response = admin_client.post(url, columns_post(HEADER.split(";"), MAPPING, "Artikelnummer"))

    assert response.status_code == 302 and response.url == ADD_URL
    page = admin_client.get(ADD_URL).content.decode()
    assert EXPIRED in page
    assert not MarketplaceImportJob.objects.exists()
    assert not VendorColumnMapping.objects.exists()


def test_an_upload_pruned_while_its_import_is_created_starts_no_job(storage_kind, vendor):
    name = product_import_store_pending_feed(content=ContentFile(FEED))
    pending_upload_discard(name)  # what the prune does to it

    with pytest.raises(UploadExpired, match="has expired; upload it again"):
        product_import_create(vendor=vendor, triggered_by="test", stored_feed=name, source_name="velo.csv")

    assert not MarketplaceImportJob.objects.exists()


def test_the_screen_link_expires_with_the_upload(settings, admin_client, vendor):
    url, _ = upload(admin_client, vendor)
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "PENDING_UPLOAD_HOURS": 1e-9}

    response = admin_client.get(url)

    assert response.status_code == 302 and response.url == ADD_URL
    assert EXPIRED in admin_client.get(ADD_URL).content.decode()


def test_a_file_without_columns_leaves_no_pending_upload(admin_client, vendor):
    data = {"vendor": vendor.pk, "marketplace": "letzshop", "upload": SimpleUploadedFile("empty.csv", b"  \n")}

    response = admin_client.post(ADD_URL, data)

    assert response.status_code == 200 and "The file is empty." in response.content.decode()
    assert not PendingUpload.objects.exists()
    assert stored_feeds() == set()


def test_an_api_upload_is_no_pending_upload(prune, staff_client, vendor, run_on_commit):
    upload_file = SimpleUploadedFile("feed.csv", b"id,title,price\nA,B,1 EUR\n", content_type="text/csv")
    response = run_on_commit(
        staff_client.post, "/api/v1/imports/products", {"vendor": vendor.code, "file": upload_file}, format="multipart"
    )

    assert response.status_code == 202, response.content
    assert not PendingUpload.objects.exists()
    job = MarketplaceImportJob.objects.get()
    stored_ago(job.source_file, hours=100)
    assert prune().summary["totals"]["pending_uploads"] == 0
    assert stored_feeds() == {job.source_file}


@pytest.mark.django_db(transaction=True)  # the command waits for its prune job, which starts at commit
def test_files_stored_before_uploads_were_recorded_are_recorded_on_request(storage_kind, prune, vendor, capsys, run_on_commit):
    storage = storages["private"]
    stray = storage.save("imports/feeds/stray.csv", ContentFile(FEED))
    elsewhere = storage.save("exports/stray.csv", ContentFile(FEED))
    held = run_on_commit(
        product_import_create, vendor=vendor, triggered_by="test", upload=ContentFile(FEED, name="held.csv")
    ).source_file
    recorded = product_import_store_pending_feed(content=ContentFile(FEED))

    call_command("prune_tasks", "--dry-run", "--record-unheld", "imports/feeds")
    assert "Would record 1 files under imports/feeds that no job holds" in capsys.readouterr().out
    assert list(PendingUpload.objects.values_list("name", flat=True)) == [recorded]

    call_command("prune_tasks", "--record-unheld", "imports/feeds/")  # records, then prunes (the stray is young)

    assert "Recorded 1 files under imports/feeds/" in capsys.readouterr().out
    assert set(PendingUpload.objects.values_list("name", flat=True)) == {recorded, stray}
    assert PendingUpload.objects.get(name=stray).stored_at == storage.get_modified_time(stray)
    stored_ago(stray, hours=25)
    assert prune().summary["totals"]["pending_uploads"] == 1
    assert stored_feeds() == {held, recorded}
    assert storage.exists(elsewhere)
