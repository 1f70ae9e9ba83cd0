"""Make sure a staff superuser exists and print how to log in."""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin login if it does not exist (ADMIN_USERNAME / ADMIN_PASSWORD, default admin/admin)."

    def handle(self, *args, **options):
        username = os.environ.get("ADMIN_USERNAME", "admin")
        password = os.environ.get("ADMIN_PASSWORD", "admin")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            User.objects.create_superuser(username=username, email=f"{username}@localhost", password=password)
            self.stdout.write(self.style.SUCCESS(f"Admin login created: {username} / {password}"))
        else:
            self.stdout.write(f"Admin login exists: {username} (password unchanged)")
