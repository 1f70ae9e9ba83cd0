"""Admin of the product import: the add form is the trigger; the change page shows the results."""
from django import forms
from django.contrib import admin

from background_tasks.admin import BackgroundTaskAdmin

from ..conf import imports_settings
from .api import _size_limit_message
from .models import MarketplaceImportJob
from .services import product_import_store_feed
from .sources import validate_feed_url

TRIGGER_FIELDS = ("vendor", "marketplace", "upload", "source_url", "dry_run", "deactivate_missing")


class ProductImportForm(forms.ModelForm):
    upload = forms.FileField(required=False, label="Feed file", help_text="A CSV product feed (any common encoding and delimiter).")
    source_url = forms.CharField(
        required=False, max_length=2000, label="Feed URL", help_text="Or an http(s) address the feed is downloaded from."
    )

    class Meta:
        model = MarketplaceImportJob
        fields = ("vendor", "marketplace", "source_url", "dry_run", "deactivate_missing")

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        limit = imports_settings.MAX_UPLOAD_SIZE
        if upload is not None and upload.size > limit:
            raise forms.ValidationError(_size_limit_message(limit))
        return upload

    def clean_source_url(self):
        url = self.cleaned_data.get("source_url", "")
        if url:
            try:
                url = validate_feed_url(url)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return url

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("upload") and cleaned.get("source_url"):
            raise forms.ValidationError("Give either a feed file or a feed URL, not both.")
        if not cleaned.get("upload") and not cleaned.get("source_url") and not self.errors:
            raise forms.ValidationError("Give a feed file or a feed URL.")
        return cleaned


@admin.register(MarketplaceImportJob)
class MarketplaceImportJobAdmin(BackgroundTaskAdmin):
    form = ProductImportForm
    list_display = ("id", "vendor", "status_display", "progress_display", "progress_message", "rows_total", "rows_rejected", "dry_run", "created_at", "duration_display")
    list_filter = ("status", "dry_run", "vendor")
    list_select_related = ("vendor",)
    raw_id_fields = ("vendor",)
    search_fields = BackgroundTaskAdmin.search_fields + ("vendor__code", "source_name", "source_url")
    trigger_label = "Import products"
    # The task page's results summary: counts, first rejected rows, the error report link.
    details_template = "admin/imports/product_import_summary.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TRIGGER_FIELDS)
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if not change and form.cleaned_data.get("upload"):
            upload = form.cleaned_data["upload"]
            obj.source_name = upload.name.rsplit("/", 1)[-1][:255]
            obj.source_file = product_import_store_feed(content=upload)
        super().save_model(request, obj, form, change)
