"""``manage.py scan_code``: start code-quality scans, and with --wait follow them to their outcome."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from background_tasks.cli import describe_outcome, follow_job, must_wait, triggered_by_cli

from .models import ValidatorType
from .services import code_quality_scans_create


class Command(BaseCommand):
    help = "Scan the repository for architecture, security and performance violations, as background jobs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--validator",
            action="append",
            choices=ValidatorType.values,
            help="A validator to run (repeat for several; default: all three).",
        )
        parser.add_argument("--wait", action="store_true", help="Wait for the scans, with progress.")

    def handle(self, *args, **options):
        scans = code_quality_scans_create(validator_types=options["validator"], triggered_by=triggered_by_cli())
        for scan in scans:
            self.stdout.write(f"Queued {scan.validator_type} scan #{scan.pk}.")
        if not must_wait(options["wait"]):
            return
        failed = []
        for scan in scans:
            scan = follow_job(scan, stdout=self.stdout)
            self.stdout.write(describe_outcome(scan))
            if scan.is_retryable():
                failed.append(scan)
        if failed:
            raise CommandError(f"{len(failed)} scan{'s' if len(failed) != 1 else ''} did not finish: " + ", ".join(f"#{s.pk}" for s in failed))
