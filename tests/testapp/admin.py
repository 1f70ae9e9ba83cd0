"""The demo job's page: the shared task page plus its own details template."""
from django.contrib import admin

from background_tasks.admin import BackgroundTaskAdmin

from .models import DemoJob


@admin.register(DemoJob)
class DemoJobAdmin(BackgroundTaskAdmin):
    details_template = "admin/testapp/demojob_details.html"
