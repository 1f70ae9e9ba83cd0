"""Expired export files are deleted by a periodic task, in batches; the jobs keep their record."""
import json
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from exports.models import ProductExportJob
from exports.services import PARTIAL_DIR, private_storage, product_exports_purge_expired
from tests.factories import ProductFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def exports(run_export):
    vendor = VendorFactory()
    ProductFactory(vendor=vendor)
    return [run_export(vendor=vendor) for _ in range(5)]


def expire(*jobs, ago=timedelta(minutes=1)):
    ProductExportJob.objects.filter(pk__in=[job.pk for job in jobs]).update(expires_at=timezone.now() - ago)


def test_expired_files_are_deleted_and_jobs_kept(exports):
    storage = private_storage()
    expired, kept = exports[:3], exports[3:]
    expire(*expired)

    purged = product_exports_purge_expired(batch_size=2)

    assert purged == 3
    for job in expired:
        job.refresh_from_db()
        assert not storage.exists(job.file_name)
        assert job.file_deleted_at is not None
        assert job.row_count == 1 and job.sha256  # the record stays
        assert job.get_details()["download_url"] is None
        assert job.get_details()["file_deleted"] is True
    for job in kept:
        assert storage.exists(job.file_name)


def test_a_second_purge_finds_nothing(exports):
    expire(*exports)

    assert product_exports_purge_expired() == 5
    assert product_exports_purge_expired() == 0


def test_purge_tolerates_a_file_already_gone(exports):
    expire(exports[0])
    private_storage().delete(exports[0].file_name)

    assert product_exports_purge_expired() == 1


def test_retention_setting_sets_the_expiry(run_export, settings):
    settings.EXPORTS_RETENTION_HOURS = 1
    job = run_export(vendor=VendorFactory())

    assert product_exports_purge_expired(now=timezone.now() + timedelta(minutes=59)) == 0
    assert product_exports_purge_expired(now=timezone.now() + timedelta(minutes=61)) == 1
    assert not private_storage().exists(job.file_name)


def test_abandoned_partial_files_are_removed(settings, db):
    storage = private_storage()
    directory = storage.path(PARTIAL_DIR)
    os.makedirs(directory)
    old, fresh = os.path.join(directory, "old.partial"), os.path.join(directory, "fresh.partial")
    for path in (old, fresh):
        with open(path, "wb") as handle:
            handle.write(b"half")
    long_ago = time.time() - (settings.EXPORTS_RETENTION_HOURS + 1) * 3600
    os.utime(old, (long_ago, long_ago))

    product_exports_purge_expired()

    assert not os.path.exists(old)
    assert os.path.exists(fresh)


def test_the_periodic_task_is_stored_in_the_database_and_runs_the_purge(exports):
    from exports.tasks import purge_expired_files

    schedule = PeriodicTask.objects.get(task="exports.purge_expired_files")
    expire(exports[0])

    result = purge_expired_files.apply().get()

    assert schedule.enabled and schedule.interval.every == 1 and schedule.interval.period == "hours"
    assert json.loads(schedule.kwargs or "{}") == {}
    assert result == 1


def test_purge_command_deletes_expired_files(exports, capsys):
    from django.core.management import call_command

    expire(*exports[:2])

    call_command("purge_expired_exports")

    assert "2 expired export files deleted." in capsys.readouterr().out
    assert ProductExportJob.objects.filter(file_deleted_at__isnull=False).count() == 2
