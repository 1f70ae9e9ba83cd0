"""Start a subscription maintenance run (and wait for it with --wait)."""
from django.core.management.base import BaseCommand

from background_tasks.cli import finish_command, follow_job, must_wait, triggered_by_cli
from wizamart.marketplace.services import subscription_maintenance_create


class Command(BaseCommand):
    help = "Start a subscription maintenance run: expire trials, renew, mark past due, expire cancelled plans."

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="Wait for the run to finish, with a progress bar.")

    def handle(self, *args, wait=False, **options):
        job = subscription_maintenance_create(triggered_by=triggered_by_cli())
        self.stdout.write(f"Queued subscription maintenance run #{job.pk}.")
        if not must_wait(wait):
            return
        job = follow_job(job, stdout=self.stdout)
        finish_command(self, job)
        self.stdout.write(f"Counts: {job.counts}")
