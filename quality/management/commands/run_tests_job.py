"""Run the project's test suite (or a selection) as a test_run job, with a progress bar."""
from django.core.management.base import BaseCommand, CommandError

from background_tasks.cli import finish_command, follow_job, must_wait, triggered_by_cli
from quality.test_runs.selection import SelectionError
from quality.test_runs.services import test_run_create


class Command(BaseCommand):
    help = "Run the test suite (or the given paths / node ids under tests/) as a background job."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", metavar="PATH", help="Test paths or node ids under tests/ (default: all).")
        parser.add_argument("-k", dest="keyword", default="", metavar="EXPR", help="Only tests matching this -k expression.")
        parser.add_argument("-m", dest="markers", default="", metavar="EXPR", help="Only tests matching this -m expression.")
        parser.add_argument("--maxfail", type=int, default=None, metavar="N", help="Stop after N failures.")
        parser.add_argument("--wait", action="store_true", help="Wait for the run, with a progress bar.")

    def handle(self, *args, **options):
        trigger = self.start(options)
        run = trigger.run
        if trigger.created:
            self.stdout.write(f"Queued test run #{run.pk}: {run.selection_display()}.")
        else:
            self.stdout.write(self.style.WARNING(f"Test run #{run.pk} is already {run.status}: following it instead."))
        if not must_wait(options["wait"]):
            return
        run = follow_job(run, stdout=self.stdout)
        finish_command(self, run)

    def start(self, options):
        try:
            return test_run_create(
                triggered_by=triggered_by_cli(),
                paths=options["paths"],
                keyword=options["keyword"],
                markers=options["markers"],
                maxfail=options["maxfail"],
            )
        except SelectionError as exc:
            lines = [f"{name}: {message}" for name, messages in exc.errors.items() for message in messages]
            raise CommandError("The selection is refused:\n  " + "\n  ".join(lines)) from None
