"""Admin of the order import: the add form is the trigger ("Import orders"); the change page shows the results."""
from django import forms
from django.contrib import admin

from background_tasks.admin import BackgroundTaskAdmin, InputSerializerFormMixin

from .models import LetzshopHistoricalImportJob
from .serializers import OrderImportInputSerializer
from .services import order_import_create

TRIGGER_FIELDS = ("vendor", "since", "upload")


class OrderImportForm(InputSerializerFormMixin, forms.ModelForm):
    """The admin's trigger form; its rules are the API's (OrderImportInputSerializer)."""

    input_serializer_class = OrderImportInputSerializer
    serializer_fields = {"upload": "file"}

    upload = forms.FileField(
        required=False,
        label="Shipments file",
        help_text="Optional: a JSON file of shipment nodes (backfill) instead of the Letzshop API.",
    )

    class Meta:
        model = LetzshopHistoricalImportJob
        fields = ("vendor", "since")


@admin.register(LetzshopHistoricalImportJob)
class LetzshopHistoricalImportJobAdmin(BackgroundTaskAdmin):
    form = OrderImportForm
    list_display = (
        "id", "vendor", "source", "status_display", "progress_display", "progress_message",
        "orders_created", "orders_updated", "orders_rejected", "created_at", "duration_display",
    )
    list_filter = ("status", "source", "vendor")
    list_select_related = ("vendor",)
    raw_id_fields = ("vendor",)
    search_fields = BackgroundTaskAdmin.search_fields + ("vendor__code", "source_name")
    trigger_label = "Import orders"
    create_service = staticmethod(order_import_create)
    # The task page's results summary: counts, rejected shipments, unknown skus.
    details_template = "admin/imports/order_import_summary.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TRIGGER_FIELDS)
        return super().get_fields(request, obj)
