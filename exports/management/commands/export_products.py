"""Start a product feed export (and wait for it, or copy the file with --output)."""
import os
import shutil
import tempfile

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from background_tasks.cli import finish_command, follow_job, must_wait, triggered_by_cli
from background_tasks.files import open_stream
from exports.models import ProductExportJob
from exports.serializers import ProductExportInputSerializer
from exports.services import product_export_create
from wizamart.marketplace.models import Product


class Command(BaseCommand):
    help = "Export a product feed (CSV or Google Shopping XML) as a background job."

    def add_arguments(self, parser):
        parser.add_argument("--vendor", metavar="CODE", help="Vendor code (default: every vendor).")
        parser.add_argument("--format", choices=ProductExportJob.Format.values, default=ProductExportJob.Format.CSV)
        parser.add_argument("--gzip", action="store_true", help="Compress the file with gzip.")
        parser.add_argument("--availability", choices=Product.Availability.values, help="Only this availability.")
        parser.add_argument("--updated-since", metavar="DATE", help="Only products changed since (ISO date or date-time).")
        parser.add_argument("--output", metavar="PATH", help="Copy the finished file there (implies --wait).")
        parser.add_argument("--wait", action="store_true", help="Wait for the export, with a progress bar.")

    def handle(self, *args, **options):
        inputs = self.validated(
            {
                "vendor": options["vendor"],
                "format": options["format"],
                "gzip": options["gzip"],
                "availability": options["availability"] or "",
                "updated_since": self.moment(options["updated_since"]),
            }
        )
        output = options["output"]
        if output:
            self.check_output(output)
        job = product_export_create(triggered_by=triggered_by_cli(), **inputs)
        self.stdout.write(f"Queued product export #{job.pk}.")
        if not (must_wait(options["wait"]) or output):
            return
        job = follow_job(job, stdout=self.stdout)
        finish_command(self, job)
        self.stdout.write(f"{job.row_count} rows, {job.file_size} bytes, sha256 {job.sha256}")
        if output:
            self.copy_file(job, output)

    def validated(self, data: dict) -> dict:
        """The create service's arguments, validated by the API's rules; errors as a CommandError."""
        serializer = ProductExportInputSerializer(data={name: value for name, value in data.items() if value is not None})
        if not serializer.is_valid():
            raise CommandError(" ".join(str(error) for errors in serializer.errors.values() for error in errors))
        return dict(serializer.validated_data)

    def moment(self, text):
        if not text:
            return None
        try:
            value = parse_datetime(text)
            if value is None and (day := parse_date(text)) is not None:
                value = timezone.datetime.combine(day, timezone.datetime.min.time())
        except ValueError:
            value = None
        if value is None:
            raise CommandError(f'--updated-since: "{text}" is not a date (use YYYY-MM-DD or an ISO date-time).')
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    def check_output(self, output):
        """Refuse an output path that cannot be written, before any job is created."""
        directory = os.path.dirname(os.path.abspath(output))
        if os.path.isdir(output):
            raise CommandError(f"--output {output} is a directory; give a file name.")
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
            raise CommandError(f"--output: cannot write into {directory}.")

    def copy_file(self, job, output):
        # Copy next to the target, then rename: the target never holds half a file.
        directory = os.path.dirname(os.path.abspath(output))
        fd, partial = tempfile.mkstemp(dir=directory, prefix=".export-", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as target, open_stream(job.file_name) as source:
                shutil.copyfileobj(source, target, 1024 * 1024)
            os.replace(partial, output)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise
        self.stdout.write(self.style.SUCCESS(f"Written to {output}"))
