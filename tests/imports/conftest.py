"""Fixtures of the product import tests: a vendor, feeds written to disk, running an import."""
import pytest
from django.core.files.base import ContentFile
from django.db import connection

from background_tasks.jobs import JobProgress
from background_tasks.services import background_task_claim, background_task_create
from imports.models import MarketplaceImportJob
from imports.products import staged
from imports.products.services import product_import_store_feed
from imports.products.staged.second import SecondConnection
from tests.factories import VendorFactory

HEADER = "id,title,description,price,sale_price,availability,brand,gtin,quantity"


@pytest.fixture
def vendor(db):
    return VendorFactory(code="maison-lux")


@pytest.fixture
def feed_bytes():
    """Build a feed's bytes from lines of text (UTF-8 unless told)."""

    def build(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
        return (newline.join(lines) + newline).encode(encoding)

    return build


@pytest.fixture
def run_import(vendor, run_on_commit):
    """Store ``content`` as an uploaded feed, run the import job, return it refreshed."""

    def run(content: bytes, *, for_vendor=None, **options) -> MarketplaceImportJob:
        name = product_import_store_feed(content=ContentFile(content, name="feed.csv"))
        job = run_on_commit(
            background_task_create,
            model=MarketplaceImportJob,
            triggered_by="manual:test",
            vendor=for_vendor or vendor,
            source_file=name,
            source_name="feed.csv",
            **options,
        )
        job.refresh_from_db()
        return job

    return run


def assert_counts_add_up(job: MarketplaceImportJob) -> None:
    assert (
        job.rows_created + job.rows_updated + job.rows_unchanged + job.rows_rejected + job.rows_repeated == job.rows_total
    )


@pytest.fixture(params=["copy", "portable"])
def write_path(request, settings):
    """Run a test on both write paths: COPY + upsert (PostgreSQL only) and the portable ORM path."""
    from django.db import connection

    if request.param == "copy" and connection.vendor != "postgresql":
        pytest.skip("the COPY path needs PostgreSQL")
    settings.IMPORTS_USE_COPY = request.param == "copy"
    return request.param


def progress_of_import(vendor, content: bytes) -> list[tuple[int | None, str | None]]:
    """Run an import of ``content`` here and return every (percent, message) its progress was told."""
    job = background_task_create(
        model=MarketplaceImportJob,
        triggered_by="manual:test",
        dispatch=False,
        vendor=vendor,
        source_file=product_import_store_feed(content=ContentFile(content, name="feed.csv")),
    )
    job = background_task_claim(model=MarketplaceImportJob, job_id=job.pk)
    seen = []

    class Recording(JobProgress):
        def __call__(self, percent=None, message=None, *, force=False):
            seen.append((percent, message))
            return super().__call__(percent, message, force=force)

    job.execute(Recording(job))
    return seen


@pytest.fixture
def second_connections(monkeypatch):
    """Record what each second connection was given, and what it answered."""
    seen = {"started": 0, "answers": []}
    init, result = SecondConnection.__init__, SecondConnection.result

    def counted_init(helper):
        seen["started"] += 1
        init(helper)

    def counted_result(helper, share=None):
        answer = result(helper, share)
        seen["answers"].append(answer)
        return answer

    monkeypatch.setattr(SecondConnection, "__init__", counted_init)
    monkeypatch.setattr(SecondConnection, "result", counted_result)
    return seen


def no_staging_tables() -> bool:
    """Whether no staging table of any import is left in the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE %s", [f"{staged.TABLE_PREFIX}%"])
        return cursor.fetchall() == []


def columns_post(header: list[str], mapping: dict[str, str], key: str, *, button="_start", preset="") -> dict:
    """The mapping screen's form as a browser posts it."""
    data = {
        "preset": preset,
        "shown_preset": preset,
        "key_column": str(header.index(key)),
        "columns-TOTAL_FORMS": str(len(header)),
        "columns-INITIAL_FORMS": "0",
        "columns-MIN_NUM_FORMS": str(len(header)),
        "columns-MAX_NUM_FORMS": str(len(header)),
        button: "1",
    }
    for index, cell in enumerate(header):
        data[f"columns-{index}-field"] = "" if mapping.get(cell) == "id" else mapping.get(cell, "")
    return data
