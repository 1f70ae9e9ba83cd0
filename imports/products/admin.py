"""Admin of the product import: the add form is the trigger; the change page shows the results."""
from django import forms
from django.contrib import admin

from background_tasks.admin import BackgroundTaskAdmin, InputSerializerFormMixin

from .models import MarketplaceImportJob
from .serializers import ProductImportInputSerializer
from .services import product_import_create

TRIGGER_FIELDS = ("vendor", "marketplace", "upload", "source_url", "dry_run", "deactivate_missing")


class ProductImportForm(InputSerializerFormMixin, forms.ModelForm):
    """The admin's trigger form; its rules are the API's (ProductImportInputSerializer)."""

    input_serializer_class = ProductImportInputSerializer
    serializer_fields = {"upload": "file"}

    upload = forms.FileField(required=False, label="Feed file", help_text="A CSV product feed (any common encoding and delimiter).")
    source_url = forms.CharField(
        required=False, max_length=2000, label="Feed URL", help_text="Or an http(s) address the feed is downloaded from."
    )

    class Meta:
        model = MarketplaceImportJob
        fields = ("vendor", "marketplace", "source_url", "dry_run", "deactivate_missing")


@admin.register(MarketplaceImportJob)
class MarketplaceImportJobAdmin(BackgroundTaskAdmin):
    form = ProductImportForm
    list_display = ("id", "vendor", "status_display", "progress_display", "progress_message", "rows_total", "rows_rejected", "dry_run", "created_at", "duration_display")
    list_filter = ("status", "dry_run", "vendor")
    list_select_related = ("vendor",)
    raw_id_fields = ("vendor",)
    search_fields = BackgroundTaskAdmin.search_fields + ("vendor__code", "source_name", "source_url")
    trigger_label = "Import products"
    create_service = staticmethod(product_import_create)
    # The task page's results summary: counts, first rejected rows, the error report link.
    details_template = "admin/imports/product_import_summary.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TRIGGER_FIELDS)
        return super().get_fields(request, obj)
