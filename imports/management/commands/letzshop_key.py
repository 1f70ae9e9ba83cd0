"""Set (or clear) a vendor's Letzshop API key, read from standard input so it never lands in shell history."""
import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from wizamart.marketplace.models import Vendor


class Command(BaseCommand):
    help = "Set a vendor's Letzshop API key from standard input (prompted without echo on a terminal)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("vendor", metavar="VENDOR_CODE", help="The vendor's code.")
        parser.add_argument("--clear", action="store_true", help="Remove the vendor's key instead.")

    def handle(self, *args, vendor, clear, **options):
        try:
            vendor_obj = Vendor.objects.get(code=vendor)
        except Vendor.DoesNotExist:
            raise CommandError(f'No vendor with code "{vendor}".') from None
        key = "" if clear else self.read_key(options.get("stdin") or sys.stdin)
        if not clear and not key:
            raise CommandError("No key given on standard input; nothing changed.")
        if len(key) > Vendor._meta.get_field("letzshop_api_key").max_length:
            raise CommandError("The key is longer than 255 characters; nothing changed.")
        Vendor.objects.filter(pk=vendor_obj.pk).update(letzshop_api_key=key)
        self.stdout.write(self.style.SUCCESS(
            f"Letzshop API key of {vendor_obj.code} {'removed' if clear else 'set'}."
        ))

    def read_key(self, stdin) -> str:
        if stdin.isatty():
            return getpass.getpass("Letzshop API key: ").strip()
        return stdin.readline().strip()
