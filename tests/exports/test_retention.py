"""Expired export files are deleted by a periodic task, in batches; the jobs keep their record."""
import json
import os
import time
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from exports.models import ProductExportJob
from exports.services import PARTIAL_DIR, private_storage, product_exports_purge_expired
from tests.factories import ProductFactory, VendorFactory
from tests.fixtures.celery_worker import wait_until

pytestmark = pytest.mark.django_db

PURGE_SCHEDULE = "Purge expired product exports"


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


def test_the_hourly_purge_is_stored_in_the_database():
    schedule = PeriodicTask.objects.get(task="exports.purge_expired_files")

    assert schedule.enabled and schedule.interval.every == 1 and schedule.interval.period == "hours"
    assert (schedule.name, schedule.queue) == (PURGE_SCHEDULE, "default")
    assert json.loads(schedule.kwargs or "{}") == {}


def test_the_purge_task_applied_in_process_deletes_expired_files(exports):
    from exports.tasks import purge_expired_files

    expire(exports[0])

    assert purge_expired_files.apply().get() == 1
    assert not private_storage().exists(exports[0].file_name)


@pytest.mark.celery_worker
@pytest.mark.postgres
def test_a_real_beat_sends_the_purge_and_a_worker_deletes_the_expired_files(
    exports, celery_worker_factory, celery_beat_factory, tmp_path
):
    # A transactional test empties the tables afterwards, the migration's schedule included: store it again.
    import_module("exports.migrations.0002_purge_expired_schedule").create_schedule(django_apps, None)
    # An hour since its last run: the purge is due as soon as beat starts.
    PeriodicTask.objects.filter(name=PURGE_SCHEDULE).update(last_run_at=timezone.now() - timedelta(hours=2))
    expire(*exports[:2])
    storage = private_storage()
    worker = celery_worker_factory(PRIVATE_STORAGE_ROOT=str(tmp_path / "private"))

    beat = celery_beat_factory()

    wait_until(lambda: not any(storage.exists(job.file_name) for job in exports[:2]), what="the expired files to go")
    assert beat.sent(PURGE_SCHEDULE) >= 1
    assert "Task exports.purge_expired_files[" in worker.log()
    assert ProductExportJob.objects.filter(file_deleted_at__isnull=False).count() == 2
    assert all(storage.exists(job.file_name) for job in exports[2:])


def test_purge_command_deletes_expired_files(exports, capsys):
    from django.core.management import call_command

    expire(*exports[:2])

    call_command("purge_expired_exports")

    assert "2 expired export files deleted." in capsys.readouterr().out
    assert ProductExportJob.objects.filter(file_deleted_at__isnull=False).count() == 2
