"""Import a vendor's Letzshop orders from the API or a JSON file of shipments (and wait for it with --wait)."""
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from background_tasks.cli import (
    finish_command,
    follow_job,
    local_file_input,
    must_wait,
    triggered_by_cli,
    validated_input,
)
from imports.orders.serializers import OrderImportInputSerializer
from imports.orders.services import order_import_create


class Command(BaseCommand):
    help = "Import a vendor's Letzshop orders (the API, incremental by default; or a JSON file of shipments)."

    def add_arguments(self, parser):
        parser.add_argument("--vendor", required=True, help="The vendor's code.")
        parser.add_argument("--since", help="Only shipments updated since (ISO 8601 date or time).")
        parser.add_argument("--file", help="A JSON file of shipment nodes, imported instead of the API.")
        parser.add_argument("--wait", action="store_true", help="Wait for the import to finish, with a progress bar.")

    def handle(self, *args, vendor, since, file, wait, **options):
        data = {"vendor": vendor, **({"since": since} if since else {})}
        with self.opened_file(file) as file_data:
            inputs = validated_input(OrderImportInputSerializer, {**data, **file_data})
            try:
                job = order_import_create(triggered_by=triggered_by_cli(), **inputs)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Queued order import #{job.pk} for {inputs['vendor'].code}.")
        if not must_wait(wait):
            return
        job = follow_job(job, stdout=self.stdout)
        finish_command(self, job)
        self.summary(job.get_details())

    def summary(self, details: dict) -> None:
        self.stdout.write(
            "Orders: {orders_created} created, {orders_updated} updated, {orders_unchanged} unchanged, "
            "{orders_rejected} rejected; {unknown_skus} unknown skus; {pages_fetched} pages, {retries} retries.".format(**details)
        )
        for row in details["rejected_shipments"][:5]:
            self.stdout.write(f"  {row['shipment']}: {row['reason']}")

    @contextmanager
    def opened_file(self, name: str | None):
        """Yield the input naming the file (open while the job is created), or nothing for the API."""
        if not name:
            yield {}
            return
        with local_file_input(name) as file_data:
            yield file_data
