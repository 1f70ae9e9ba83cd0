"""Prune old finished jobs now (as the nightly schedule does), or show with --dry-run what would go."""
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from background_tasks.cli import finish_command, follow_job, must_wait, triggered_by_cli
from background_tasks.conf import task_settings
from background_tasks.jobs import JobFailed
from background_tasks.models import RetentionPruneRun
from background_tasks.retention import pending_uploads_record_unheld, retention_for, retention_plan
from background_tasks.services import background_task_create


class Command(BaseCommand):
    help = (
        'Delete the files, then the rows, of finished jobs past BACKGROUND_TASKS["RETENTION"] '
        "(with their ids, results and notifications), in batches, and uploads no job took within "
        'BACKGROUND_TASKS["PENDING_UPLOAD_HOURS"].'
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show what would be removed; remove nothing.")
        parser.add_argument("--wait", action="store_true", help="Wait for the prune job to finish, with a progress bar.")
        parser.add_argument(
            "--record-unheld",
            metavar="PREFIX",
            action="append",
            default=[],
            help="First record the files under PREFIX (e.g. imports/feeds) that no job holds as uploads no job took, "
            "so the prune deletes them once older than PENDING_UPLOAD_HOURS (files stored before uploads were "
            "recorded). Lists that prefix of the storage once.",
        )

    def handle(self, *args, dry_run=False, wait=False, record_unheld=(), **options):
        for prefix in record_unheld:
            count = pending_uploads_record_unheld(prefix=prefix, dry_run=dry_run)
            verb = "Would record" if dry_run else "Recorded"
            self.stdout.write(f"{verb} {count:,} files under {prefix} that no job holds as uploads no job took.")
        if dry_run:
            self.show_plan()
            return
        job = background_task_create(model=RetentionPruneRun, triggered_by=triggered_by_cli())
        self.stdout.write(f"Queued retention prune run #{job.pk}.")
        if not must_wait(wait):
            return
        job = follow_job(job, stdout=self.stdout)
        finish_command(self, job)

    def show_plan(self) -> None:
        """Print, per task type, its retention and what a prune would remove now."""
        try:
            report = retention_plan(now=timezone.now())
        except JobFailed as exc:
            raise CommandError(str(exc)) from None
        for task_type, counts in report.by_type.items():
            self.stdout.write(f"{task_type:<28} {self.describe(task_type):<34} {counts['rows']:>9,} rows  {counts['files']:>9,} files")
        hours = f"(after {task_settings.PENDING_UPLOAD_HOURS:g} hours)"
        self.stdout.write(f"{'uploads never imported':<28} {hours:<34} {'':>14}  {report.pending_uploads:>9,} files")
        self.stdout.write(
            f"Dry run: would remove {report.rows:,} job rows and {report.files:,} files, "
            f"and {report.pending_uploads:,} uploads never imported."
        )

    @staticmethod
    def describe(task_type: str) -> str:
        keep = retention_for(task_type)
        rows = "forever" if keep.rows_days is None else f"{keep.rows_days:g} days"
        files = "forever" if keep.files_days is None else f"{keep.files_days:g} days"
        return f"(rows {rows}, files {files})"
