"""Retention: old finished jobs lose their files, then their rows with ids, results and notifications; active ones stay."""
import json
import math
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from background_tasks.models import AdminNotification, RetentionPruneRun, TaskRef
from background_tasks.retention import retention_for, retention_prune
from background_tasks.services import background_task_create
from background_tasks.signals import progress_reported
from background_tasks.status import TaskStatus
from exports.models import ProductExportJob
from imports.models import MarketplaceImportJob
from tests.factories import VendorFactory
from wizamart.marketplace.models import SubscriptionMaintenanceRun

DAY = timedelta(days=1)


def stored(name: str) -> str:
    """Save a small file in the private storage; return its name."""
    return storages["private"].save(name, ContentFile(b"sku,title\n1,x\n"))


def exists(name: str) -> bool:
    return storages["private"].exists(name)


def finished_job(model=MarketplaceImportJob, *, days_ago: float, status=TaskStatus.COMPLETED, **fields):
    """A job of ``model`` that finished ``days_ago`` days ago."""
    job = background_task_create(model=model, triggered_by="test", dispatch=False, **fields)
    when = timezone.now() - timedelta(days=days_ago)
    model.objects.filter(pk=job.pk).update(status=status, created_at=when, started_at=when, completed_at=when)
    job.refresh_from_db()
    return job


@pytest.fixture
def vendor(db):
    return VendorFactory()


@pytest.fixture
def progress_log():
    """Every progress report of the jobs run in the test: (percent, message)."""
    log = []

    def record(sender, job, percent, message, **kwargs):
        if sender is RetentionPruneRun:
            log.append((percent, message))

    progress_reported.connect(record, weak=False)
    yield log
    progress_reported.disconnect(record)


def test_old_files_go_first_and_the_row_says_so(vendor, staff_client):
    job = finished_job(days_ago=40, vendor=vendor, source_file=stored("imports/feed.csv"), error_report=stored("imports/errors.csv"))
    recent = finished_job(days_ago=5, vendor=vendor, source_file=stored("imports/recent.csv"))
    upload, report = job.source_file, job.error_report

    retention_prune()

    job.refresh_from_db()
    assert not exists(upload) and not exists(report)
    assert (job.source_file, job.error_report) == ("", "")
    assert job.files_pruned_at is not None
    body = staff_client.get(f"/api/v1/admin/background-tasks/{job.pk}").json()
    assert body["status"] == TaskStatus.COMPLETED
    assert body["details"]["files_pruned_at"] == job.files_pruned_at.isoformat()
    assert body["details"]["error_report_url"] is None
    assert exists(recent.source_file)
    assert MarketplaceImportJob.objects.filter(pk=recent.pk, files_pruned_at__isnull=True).exists()


def test_a_pruned_export_says_its_file_is_deleted(db):
    job = finished_job(ProductExportJob, days_ago=31, file_name=stored("exports/products.csv"))

    retention_prune()

    job.refresh_from_db()
    assert job.get_details()["file_deleted"] is True
    assert job.download_url is None
    assert not exists("exports/products.csv")


def test_old_rows_go_with_their_ids_results_notifications_and_files(vendor):
    old = finished_job(days_ago=91, vendor=vendor, status=TaskStatus.FAILED, source_file=stored("imports/old.csv"), celery_task_id="old-task")
    kept = finished_job(days_ago=89, vendor=vendor, celery_task_id="kept-task")
    TaskResult.objects.create(task_id="old-task", status="FAILURE")
    TaskResult.objects.create(task_id="kept-task", status="SUCCESS")
    AdminNotification.objects.create(title="old failed", task_type=old.task_type, job_id=old.pk)
    AdminNotification.objects.create(title="kept", task_type=kept.task_type, job_id=kept.pk)
    upload = old.source_file

    report = retention_prune()

    assert not MarketplaceImportJob.objects.filter(pk=old.pk).exists()
    assert not TaskRef.objects.filter(pk=old.pk).exists()
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["kept-task"]
    assert list(AdminNotification.objects.values_list("job_id", flat=True)) == [kept.pk]
    assert not exists(upload)
    assert MarketplaceImportJob.objects.filter(pk=kept.pk).exists() and TaskRef.objects.filter(pk=kept.pk).exists()
    assert (report.by_type["product_import"], report.results, report.notifications) == ({"rows": 1, "files": 1}, 1, 1)


def test_active_jobs_are_never_pruned_however_old(vendor):
    ancient = timezone.now() - 400 * DAY
    running = background_task_create(model=MarketplaceImportJob, triggered_by="test", dispatch=False, vendor=vendor, source_file=stored("imports/running.csv"))
    pending = background_task_create(model=MarketplaceImportJob, triggered_by="test", dispatch=False, vendor=vendor, source_file=stored("imports/pending.csv"))
    MarketplaceImportJob.objects.filter(pk=running.pk).update(status=TaskStatus.RUNNING, created_at=ancient, started_at=ancient)
    # A job retried after it finished long ago: pending again (the retry clears completed_at).
    MarketplaceImportJob.objects.filter(pk=pending.pk).update(created_at=ancient)

    retention_prune()

    assert set(MarketplaceImportJob.objects.values_list("pk", flat=True)) == {running.pk, pending.pk}
    assert exists(running.source_file) and exists(pending.source_file)


def test_retention_is_configured_per_task_type(settings, vendor):
    settings.BACKGROUND_TASKS = {
        **settings.BACKGROUND_TASKS,
        "RETENTION": {"default": {"rows_days": 10, "files_days": 5}, "subscription_maintenance": {"rows_days": None}},
    }
    run = finished_job(SubscriptionMaintenanceRun, days_ago=365)
    job = finished_job(days_ago=11, vendor=vendor)

    retention_prune()

    assert SubscriptionMaintenanceRun.objects.filter(pk=run.pk).exists()
    assert not MarketplaceImportJob.objects.filter(pk=job.pk).exists()
    assert retention_for("subscription_maintenance").rows_days is None
    assert retention_for("subscription_maintenance").files_days == 5
    assert retention_for("product_import").rows_days == 10


def test_a_row_deleted_before_its_files_expire_takes_its_files_along(settings, vendor):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "RETENTION": {"default": {"rows_days": 10, "files_days": None}}}
    job = finished_job(days_ago=11, vendor=vendor, source_file=stored("imports/feed.csv"), error_report=stored("imports/errors.csv"))

    report = retention_prune()

    assert not MarketplaceImportJob.objects.filter(pk=job.pk).exists()
    assert not exists(job.source_file) and not exists(job.error_report)
    assert report.by_type["product_import"] == {"rows": 1, "files": 2}


def test_a_wrong_retention_setting_fails_the_job_with_a_readable_message(transactional_db, settings):
    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "RETENTION": {"default": {"rows_days": "ninety"}}}

    job = background_task_create(model=RetentionPruneRun, triggered_by="test")

    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    assert "rows_days must be a number of days (0 or more) or None, not 'ninety'" in job.error_message
    with pytest.raises(CommandError, match="rows_days must be a number of days"):
        call_command("prune_tasks", "--dry-run")


def test_dry_run_counts_and_removes_nothing(vendor, capsys):
    job = finished_job(days_ago=100, vendor=vendor, source_file=stored("imports/a.csv"), error_report=stored("imports/b.csv"))
    files_only = finished_job(days_ago=40, vendor=vendor, source_file=stored("imports/c.csv"))

    call_command("prune_tasks", "--dry-run")

    out = capsys.readouterr().out
    assert "Dry run: would remove 1 job rows and 3 files, and 0 uploads never imported." in out
    assert "product_import" in out and "(rows 90 days, files 30 days)" in out
    assert MarketplaceImportJob.objects.filter(pk__in=[job.pk, files_only.pk]).count() == 2
    assert exists(job.source_file) and exists(files_only.source_file)


def test_the_command_runs_a_prune_job_with_a_progress_bar(transactional_db, vendor, capsys):
    finished_job(days_ago=100, vendor=vendor)

    call_command("prune_tasks")

    out = capsys.readouterr()
    run = RetentionPruneRun.objects.get()
    assert run.status == TaskStatus.COMPLETED and run.triggered_by.startswith("cli:")
    assert run.summary["totals"]["rows"] == 1
    assert "retention_prune #" in out.out + out.err  # the tqdm bar
    assert not MarketplaceImportJob.objects.exists()


def test_the_prune_schedule_is_stored_in_the_database(db):
    task = PeriodicTask.objects.get(name="Nightly retention prune")
    assert task.enabled and task.crontab is not None
    assert task.task == "background_tasks.run_scheduled"
    assert json.loads(task.kwargs) == {"task_type": "retention_prune"}
    assert task.queue == "scheduled"


def test_a_scheduled_prune_is_a_job_of_its_own(vendor):
    from background_tasks.celery_tasks import run_scheduled

    finished_job(days_ago=100, vendor=vendor)

    result = run_scheduled.apply(kwargs={"task_type": "retention_prune"}).get()

    run = RetentionPruneRun.objects.get(pk=result["job_id"])
    assert (run.triggered_by, run.status) == ("scheduled", TaskStatus.COMPLETED)
    assert run.summary["product_import"] == {"rows": 1, "files": 0}


# --- at scale ------------------------------------------------------------------------------------

OLD_JOBS = 100_000
BATCH = 1_000


def ids_in(sql: str) -> list[str]:
    """The ids a captured ``... "id" IN (1, 2, ...)`` statement names."""
    found = re.search(r'"id" IN \(([^)]*)\)', sql)
    return found.group(1).split(", ") if found else []


def bulk_old_jobs(vendor, count: int, *, days_ago: float) -> list[int]:
    """Insert ``count`` finished product imports fast (ids drawn in bulk from the shared sequence)."""
    refs = TaskRef.objects.bulk_create([TaskRef(task_type="product_import") for _ in range(count)], batch_size=10_000)
    MarketplaceImportJob.objects.bulk_create(
        [MarketplaceImportJob(id=ref.pk, vendor=vendor, status=TaskStatus.COMPLETED, triggered_by="bulk") for ref in refs],
        batch_size=10_000,
    )
    ids = [ref.pk for ref in refs]
    when = timezone.now() - timedelta(days=days_ago)
    MarketplaceImportJob.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]).update(created_at=when, started_at=when, completed_at=when)
    return ids


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_a_prune_of_100000_old_jobs_goes_in_batches_and_leaves_the_rest(transactional_db, vendor, staff_client, progress_log):
    # Given 100,000 old finished imports, some with files, results and failure notifications
    ids = bulk_old_jobs(vendor, OLD_JOBS, days_ago=200)
    with_files = ids[:25]
    names = []
    for pk in with_files:
        upload, report = stored(f"imports/{pk}.csv"), stored(f"imports/{pk}-errors.csv")
        MarketplaceImportJob.objects.filter(pk=pk).update(source_file=upload, error_report=report, celery_task_id=f"task-{pk}")
        TaskResult.objects.create(task_id=f"task-{pk}", status="SUCCESS")
        AdminNotification.objects.create(title=f"#{pk} failed", task_type="product_import", job_id=pk)
        names += [upload, report]
    # and jobs that must stay: recent ones, active ones however old, and unrelated results and notes
    recent = [finished_job(days_ago=2, vendor=vendor, source_file=stored("imports/recent.csv")) for _ in range(3)]
    files_old = finished_job(days_ago=45, vendor=vendor, source_file=stored("imports/45-days.csv"))
    running = finished_job(days_ago=200, vendor=vendor, status=TaskStatus.RUNNING)
    MarketplaceImportJob.objects.filter(pk=running.pk).update(completed_at=None)
    pending = background_task_create(model=MarketplaceImportJob, triggered_by="test", dispatch=False, vendor=vendor)
    TaskResult.objects.create(task_id="someone-else", status="SUCCESS")
    AdminNotification.objects.create(title="a recent failure", task_type="product_import", job_id=recent[0].pk)
    survivors = {job.pk for job in [*recent, files_old, running, pending]}

    # (a page polled the counts just before: they are cached for a few seconds)
    before = staff_client.get("/api/v1/admin/background-tasks/counts").json()
    assert before["counts"]["product_import"]["completed"] > before["cap"]

    # When the prune job runs (in this thread: the suite's jobs are eager)
    table = MarketplaceImportJob._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        run = background_task_create(model=RetentionPruneRun, triggered_by="test")

    # Then the old rows and everything of theirs are gone
    run.refresh_from_db()
    assert run.status == TaskStatus.COMPLETED, run.error_message
    assert set(MarketplaceImportJob.objects.values_list("pk", flat=True)) == survivors
    assert not TaskRef.objects.filter(pk__in=ids).exists()
    assert TaskRef.objects.filter(pk__in=survivors).count() == len(survivors)
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["someone-else"]
    assert list(AdminNotification.objects.values_list("job_id", flat=True)) == [recent[0].pk]
    assert not any(exists(name) for name in names)
    assert all(exists(job.source_file) for job in recent)
    files_old.refresh_from_db()
    assert files_old.source_file == "" and files_old.files_pruned_at is not None
    assert run.summary["totals"] == {
        "rows": OLD_JOBS, "files": 2 * len(with_files) + 1, "results": 25, "notifications": 25, "pending_uploads": 0,
    }

    # in batches of 1,000 ids: one DELETE of the job table and one of the id table per batch
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'DELETE FROM "{table}"')]
    ref_deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'DELETE FROM "{TaskRef._meta.db_table}"')]
    assert len(deletes) == len(ref_deletes) == math.ceil(OLD_JOBS / BATCH)
    assert max(len(ids_in(sql)) for sql in deletes) == BATCH

    # with progress reported along the way
    percents = [percent for percent, _ in progress_log if percent is not None]
    assert percents == sorted(percents) and percents[-1] == 100 and len(set(percents)) > 50
    assert any("of 100,026 jobs" in message for _, message in progress_log if message)

    # and the counts the pages poll agree at once
    counts = staff_client.get("/api/v1/admin/background-tasks/counts").json()["counts"]["product_import"]
    assert (counts["completed"], counts["running"], counts["pending"]) == (4, 1, 1)
    listed = staff_client.get("/api/v1/admin/background-tasks?task_type=product_import&limit=1000").json()
    assert {row["id"] for row in listed} == survivors


def test_the_system_check_names_a_wrong_retention_setting(settings):
    from django.core import checks

    settings.BACKGROUND_TASKS = {
        **settings.BACKGROUND_TASKS,
        "RETENTION": {"default": {"rows_days": -1, "file_days": 3}, "product_imports": {"rows_days": 5}},
    }

    found = {(message.id, message.msg) for message in checks.run_checks() if message.id.startswith("background_tasks.")}

    assert ("background_tasks.E004", """BACKGROUND_TASKS["RETENTION"]['default']: rows_days must be a number of days (0 or more) or None, not -1.""") in found
    assert ("background_tasks.E004", """BACKGROUND_TASKS["RETENTION"]['default']: unknown key 'file_days' (use rows_days or files_days).""") in found
    assert ("background_tasks.W002", """BACKGROUND_TASKS["RETENTION"] names 'product_imports', which is no task type.""") in found


@pytest.mark.parametrize("hours", [0, "a day"])
def test_a_wrong_pending_upload_limit_is_named_by_the_check_and_fails_the_prune(transactional_db, settings, hours):
    from django.core import checks

    settings.BACKGROUND_TASKS = {**settings.BACKGROUND_TASKS, "PENDING_UPLOAD_HOURS": hours}
    expected = f'BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"] must be a number of hours above 0, not {hours!r}.'

    found = {(message.id, message.msg) for message in checks.run_checks() if message.id.startswith("background_tasks.")}
    job = background_task_create(model=RetentionPruneRun, triggered_by="test")

    assert ("background_tasks.E004", expected) in found
    job.refresh_from_db()
    assert (job.status, job.error_message) == (TaskStatus.FAILED, expected)
    with pytest.raises(CommandError, match="PENDING_UPLOAD_HOURS"):
        call_command("prune_tasks", "--dry-run")


def test_the_prune_has_a_task_page_with_a_dry_run_trigger(transactional_db, staff_client, vendor):
    finished_job(days_ago=100, vendor=vendor)

    page = staff_client.get("/admin/background_tasks/retentionprunerun/add/")
    assert page.status_code == 200 and b"dry_run" in page.content
    response = staff_client.post("/admin/background_tasks/retentionprunerun/add/", {"dry_run": "on"})

    assert response.status_code == 302
    run = RetentionPruneRun.objects.get()
    assert (run.status, run.dry_run) == (TaskStatus.COMPLETED, True)
    assert run.triggered_by.startswith("manual:")
    assert run.summary["product_import"]["rows"] == 1
    assert MarketplaceImportJob.objects.count() == 1
    assert staff_client.get(f"/admin/background_tasks/retentionprunerun/{run.pk}/change/").status_code == 200
