"""Import a vendor's product feed from a file or an http(s) URL (and wait for it with --wait)."""
from contextlib import contextmanager

from django.core.management.base import BaseCommand

from background_tasks.cli import (
    finish_command,
    follow_job,
    local_file_input,
    must_wait,
    triggered_by_cli,
    validated_input,
)
from imports.products.serializers import ProductImportInputSerializer
from imports.products.services import product_import_create


class Command(BaseCommand):
    help = "Import a product feed (CSV or Google Merchant XML file, or http(s) URL) into a vendor's products."

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="PATH_OR_URL", help="A feed file, or an http(s) URL to download it from.")
        parser.add_argument("--vendor", required=True, help="The vendor's code.")
        parser.add_argument("--marketplace", default="letzshop")
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write no product.")
        parser.add_argument(
            "--deactivate-missing", action="store_true", help="Deactivate the vendor's products missing from the feed."
        )
        parser.add_argument("--preset", help="The shop format of the file's columns (detected when not given).")
        parser.add_argument(
            "--mapping", metavar="JSON", help='The file\'s columns: {"source header": "feed column", ...} ("" ignores one).'
        )
        parser.add_argument("--wait", action="store_true", help="Wait for the import to finish, with a progress bar.")

    def handle(self, *args, source, vendor, marketplace, dry_run, deactivate_missing, preset, mapping, wait, **options):
        data = {"vendor": vendor, "marketplace": marketplace, "dry_run": dry_run, "deactivate_missing": deactivate_missing}
        data.update({name: value for name, value in (("preset", preset), ("mapping", mapping)) if value is not None})
        with self.opened_source(source) as source_data:
            inputs = validated_input(ProductImportInputSerializer, {**data, **source_data})
            job = product_import_create(triggered_by=triggered_by_cli(), **inputs)
        vendor_obj = inputs["vendor"]
        self.stdout.write(f"Queued product import #{job.pk} for {vendor_obj.code}.")
        if not must_wait(wait):
            return
        job = follow_job(job, stdout=self.stdout)
        finish_command(self, job)
        details = job.get_details()
        self.stdout.write(
            "Rows: {rows_total} total, {rows_created} created, {rows_updated} updated, "
            "{rows_unchanged} unchanged, {rows_rejected} rejected.".format(**details)
        )
        for row in details["rejected_rows"][:5]:
            self.stdout.write(f"  line {row['line']}: {row['error']}")
        if details["error_report_url"]:
            self.stdout.write(f"Error report: {details['error_report_url']}")

    @contextmanager
    def opened_source(self, source: str):
        """Yield the input naming the feed: its URL, or the local file, open while the job is created."""
        if "://" in source:
            yield {"source_url": source}
            return
        with local_file_input(source) as file_data:
            yield file_data
