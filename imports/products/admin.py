"""Admin of the product import: the add form is the trigger; the change page shows the results."""
from django import forms
from django.contrib import admin
from django.urls import path

from background_tasks.admin import BackgroundTaskAdmin, InputSerializerFormMixin
from background_tasks.uploads import with_upload_limit

from .models import MarketplaceImportJob
from .serializers import ProductImportInputSerializer, upload_size_limit, upload_too_large_message
from .services import product_import_create

TRIGGER_FIELDS = ("vendor", "marketplace", "upload", "source_url", "dry_run", "deactivate_missing")


class ProductImportForm(InputSerializerFormMixin, forms.ModelForm):
    """The admin's trigger form; its rules are the API's (ProductImportInputSerializer)."""

    input_serializer_class = ProductImportInputSerializer
    serializer_fields = {"upload": "file"}

    upload = forms.FileField(required=False, label="Feed file", help_text="A CSV product feed (any common encoding and delimiter) or a Google Merchant XML feed (RSS 2.0 or Atom).")
    source_url = forms.CharField(
        required=False, max_length=2000, label="Feed URL", help_text="Or an http(s) address the feed is downloaded from."
    )

    # Set by the admin when the upload stopped at the size limit (the file was not read).
    upload_over_limit = False

    class Meta:
        model = MarketplaceImportJob
        fields = ("vendor", "marketplace", "source_url", "dry_run", "deactivate_missing")

    def clean(self):
        if self.upload_over_limit:
            self.add_error("upload", upload_too_large_message())
        return super().clean()


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

    def get_urls(self):
        """The add view stops reading an upload at the import's size limit (as the API does)."""
        urls = super().get_urls()
        add = next(url for url in urls if url.name == self._url_name("add"))
        limited = path(
            "add/", with_upload_limit(self.admin_site.admin_view(self.add_view), limit=upload_size_limit), name=add.name
        )
        return [limited if url is add else url for url in urls]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.upload_over_limit = getattr(request, "upload_over_limit", False)
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TRIGGER_FIELDS)
        return super().get_fields(request, obj)
