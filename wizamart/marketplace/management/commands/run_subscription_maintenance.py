"""Start a subscription maintenance run (and wait for it with --wait)."""
from django.core.management.base import BaseCommand

from background_tasks.cli import finish_command, follow_job, must_wait, triggered_by_cli
from background_tasks.services import background_task_create
from wizamart.marketplace.models import SubscriptionMaintenanceRun


class Command(BaseCommand):
    help = "Start a subscription maintenance run: expire trials, renew, mark past due, expire cancelled plans."

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="Wait for the run to finish, with a progress bar.")

    def handle(self, *args, wait=False, **options):
        job = background_task_create(model=SubscriptionMaintenanceRun, triggered_by=triggered_by_cli())
        self.stdout.write(f"Queued subscription maintenance run #{job.pk}.")
        if not must_wait(wait):
            return
        job = follow_job(job, stdout=self.stdout)
        finish_command(self, job)
        self.stdout.write(f"Counts: {job.counts}")
