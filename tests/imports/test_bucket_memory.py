"""Importing a 100 MB object from the bucket keeps memory flat: the feed is read as a stream, on both paths."""
import json
import os
import subprocess
import sys

import pytest
from django.core.files import File

from background_tasks.files import private_storage
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from imports.models import MarketplaceImportJob
from tests.factories import VendorFactory
from tests.fixtures.celery_worker import REPO_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(280)]

MB = 1024 * 1024
ROWS, DESCRIPTION = 2000, 50 * 1024  # 2,000 rows of 50 KB: a 100 MB feed
# What the import may add to its process's memory, everything included (its batches of 50 rows of
# 50 KB, read ahead in a thread); seen: ~22 MB on the COPY path, ~33 MB on the portable one.
FLAT_MB = 48


@pytest.fixture
def big_feed_job(s3_bucket, transactional_db, tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,title,description,price,availability\n")
        for n in range(ROWS):
            out.write(f"BIG-{n},Article {n},{chr(97 + n % 26) * DESCRIPTION},{n}.50 EUR,in stock\n")
    with open(path, "rb") as handle:
        name = private_storage().save("imports/feeds/big.csv", File(handle, name="big.csv"))
    assert private_storage().size(name) > 100 * 1000 * 1000
    return background_task_create(
        model=MarketplaceImportJob, triggered_by="manual:test", dispatch=False, vendor=VendorFactory(), source_file=name
    )


def probe(action: str, job, path: str, *, db_url: str, bucket, local) -> dict:
    env = {
        **os.environ,
        **bucket.env(local),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": db_url,
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.imports.memory_probe", action, str(job.pk), path],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", ["copy", "portable"])
def test_a_100_mb_import_from_the_bucket_keeps_memory_flat(big_feed_job, path, celery_worker_db_url, s3_bucket, tmp_path):
    where = {"db_url": celery_worker_db_url, "bucket": s3_bucket, "local": tmp_path / "probe-private"}
    whole = probe("whole", big_feed_job, path, **where)
    streamed = probe("import", big_feed_job, path, **where)

    big_feed_job.refresh_from_db()
    assert streamed["status"] == TaskStatus.COMPLETED, big_feed_job.error_message
    assert big_feed_job.rows_created == ROWS
    assert big_feed_job.file_info["reader"] == ("postgresql" if path == "copy" else "python")
    # The yardstick: django-storages' S3File holds the whole object; the import does not.
    assert whole["added_kb"] > 95 * 1024
    assert streamed["added_kb"] < FLAT_MB * 1024, streamed
