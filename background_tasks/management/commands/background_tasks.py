"""List, show, cancel, retry and reap background jobs from the shell."""
from django.core.management.base import BaseCommand, CommandError

from background_tasks.cli import describe_outcome, triggered_by_cli
from background_tasks.registry import task_types
from background_tasks.selectors import background_tasks_service
from background_tasks.serializers import BackgroundTaskSerializer
from background_tasks.services import background_task_cancel, background_task_retry
from background_tasks.status import TaskStatus
from background_tasks.sweep import background_tasks_sweep


class Command(BaseCommand):
    help = "Work with background jobs: list, show, cancel, retry, reap (sweep)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        ls = sub.add_parser("list", help="List jobs, newest first.")
        ls.add_argument("--type", dest="task_type", choices=task_types())
        ls.add_argument("--status", choices=[c for c, _ in TaskStatus.choices])
        ls.add_argument("--limit", type=int, default=20)
        for name, text in (("show", "Show one job."), ("cancel", "Cancel a job."), ("retry", "Retry a failed or cancelled job.")):
            p = sub.add_parser(name, help=text)
            p.add_argument("job_id", type=int)
        sub.add_parser("reap", help="Publish jobs that never reached a queue; finish or re-queue jobs whose worker died.")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def _job(self, job_id):
        job = background_tasks_service.get_task_by_id(job_id)
        if job is None:
            raise CommandError(f"No background task with id {job_id}.")
        return job

    def do_list(self, task_type=None, status=None, limit=20, **_):
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        jobs = background_tasks_service.get_tasks(task_type=task_type, status=status, limit=limit)
        if not jobs:
            self.stdout.write("No jobs.")
            return
        self.stdout.write(f"{'ID':>8}  {'TYPE':<25} {'STATUS':<24} {'%':>4}  {'CREATED':<20} MESSAGE")
        for job in jobs:
            self.stdout.write(
                f"{job.pk:>8}  {job.task_type:<25} {job.status:<24} {job.progress_percent:>4}  "
                f"{job.created_at:%Y-%m-%d %H:%M:%S}  {job.progress_message}"
            )

    def do_show(self, job_id, **_):
        data = BackgroundTaskSerializer(self._job(job_id)).data
        for key, value in data.items():
            self.stdout.write(f"{key:>17}: {value}")

    def do_cancel(self, job_id, **_):
        job = self._job(job_id)
        if not background_task_cancel(job=job, cancelled_by=triggered_by_cli()):
            raise CommandError(f"Job #{job.pk} is {job.status} and cannot be cancelled.")
        self.stdout.write(self.style.SUCCESS(describe_outcome(job)))

    def do_retry(self, job_id, **_):
        job = self._job(job_id)
        if not background_task_retry(job=job, triggered_by=triggered_by_cli()):
            raise CommandError(f"Job #{job.pk} is {job.status}; only failed or cancelled jobs can be retried.")
        self.stdout.write(self.style.SUCCESS(f"Job #{job.pk} queued again."))

    def do_reap(self, **_):
        self.stdout.write(f"Sweep: {background_tasks_sweep()}.")
