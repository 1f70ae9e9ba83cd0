"""Import a vendor's product feed from a file or an http(s) URL (and wait for it with --wait)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from background_tasks.cli import finish_command, follow_job, must_wait, triggered_by_cli
from background_tasks.services import background_task_create
from imports.models import MarketplaceImportJob
from imports.products.services import product_import_copy_local_file
from imports.products.sources import validate_feed_url
from wizamart.marketplace.models import Vendor


class Command(BaseCommand):
    help = "Import a product feed (CSV file or http(s) URL) into a vendor's products."

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="PATH_OR_URL", help="A feed file, or an http(s) URL to download it from.")
        parser.add_argument("--vendor", required=True, help="The vendor's code.")
        parser.add_argument("--marketplace", default="letzshop")
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write no product.")
        parser.add_argument(
            "--deactivate-missing", action="store_true", help="Deactivate the vendor's products missing from the feed."
        )
        parser.add_argument("--wait", action="store_true", help="Wait for the import to finish, with a progress bar.")

    def handle(self, *args, source, vendor, marketplace, dry_run, deactivate_missing, wait, **options):
        vendor_obj = self.vendor(vendor)
        fields = self.source_fields(source)
        job = background_task_create(
            model=MarketplaceImportJob,
            triggered_by=triggered_by_cli(),
            vendor=vendor_obj,
            marketplace=marketplace,
            dry_run=dry_run,
            deactivate_missing=deactivate_missing,
            **fields,
        )
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

    def vendor(self, code: str) -> Vendor:
        try:
            return Vendor.objects.get(code=code)
        except Vendor.DoesNotExist:
            raise CommandError(f'No vendor with code "{code}".') from None

    def source_fields(self, source: str) -> dict:
        """Return the job fields for a URL, or store a local file and return its fields."""
        if "://" in source:
            try:
                return {"source_url": validate_feed_url(source)}
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"No such file: {source}")
        try:
            return {"source_file": product_import_copy_local_file(path=path), "source_name": path.name[:255]}
        except OSError as exc:
            raise CommandError(f"Cannot read {source}: {exc.strerror or exc}") from None
