"""Delete export files past their retention now (what the hourly periodic task does)."""
from django.core.management.base import BaseCommand

from exports.services import product_exports_purge_expired


class Command(BaseCommand):
    help = "Delete product export files older than EXPORTS_RETENTION_HOURS; the export jobs keep their record."

    def handle(self, *args, **options):
        purged = product_exports_purge_expired()
        self.stdout.write(f"{purged} expired export file{'s' if purged != 1 else ''} deleted.")
