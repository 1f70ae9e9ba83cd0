"""Admin of product exports: the add form starts an export; the change page links to its file."""
from django import forms
from django.contrib import admin
from django.utils.html import format_html

from background_tasks.admin import BackgroundTaskAdmin, InputSerializerFormMixin

from .models import ProductExportJob
from .serializers import ProductExportInputSerializer
from .services import product_export_create


class ProductExportForm(InputSerializerFormMixin, forms.ModelForm):
    """The admin's trigger form; its rules are the API's (ProductExportInputSerializer)."""

    input_serializer_class = ProductExportInputSerializer

    class Meta:
        model = ProductExportJob
        fields = ("vendor", "format", "gzip", "availability", "updated_since")


@admin.register(ProductExportJob)
class ProductExportJobAdmin(BackgroundTaskAdmin):
    form = ProductExportForm
    create_service = staticmethod(product_export_create)
    list_display = BackgroundTaskAdmin.list_display + ("vendor", "format", "gzip", "row_count", "download_link")
    list_filter = BackgroundTaskAdmin.list_filter + ("format",)
    list_select_related = ("vendor",)
    autocomplete_fields = ("vendor",)
    trigger_label = "Export products"
    details_template = "admin/exports/productexportjob_details.html"

    def get_details_context(self, job, details):
        return {"download_name": job.download_name, "expires_at": job.expires_at}

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "download_link"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": ["download_link", *options["fields"]]}), *rest]

    @admin.display(description="Download")
    def download_link(self, obj):
        url = obj.download_url
        if url:
            return format_html('<a href="{}" download>{}</a>', url, obj.download_name)
        if obj.file_deleted_at:
            return "Expired"
        return "—"
