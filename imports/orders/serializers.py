"""The order import's input, validated once: the API, the admin form and the command use it."""
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from background_tasks.serializers import TaskInputSerializer
from wizamart.marketplace.models import Vendor
from wizamart.marketplace.serializers import VendorCodeField

from .conf import orders_settings


def file_too_large_message() -> str:
    return f"The file is larger than the {orders_settings.MAX_FILE_SIZE // 2**20} MB limit."


def missing_key_message(vendor: Vendor) -> str:
    return (
        f'Vendor "{vendor.code}" has no Letzshop API key: set it in the vendor\'s admin page '
        f"or with `python manage.py letzshop_key {vendor.code}`."
    )


class OrderVendorField(VendorCodeField):
    """The vendor by its code; a code no vendor can have (a NUL byte) is refused before any query."""

    def to_internal_value(self, data):
        if "\x00" in str(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data).replace("\x00", "")[:64])
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class ShipmentsFileField(serializers.FileField):
    """The uploaded JSON file of shipments (a multipart file part)."""


class OrderImportInputSerializer(TaskInputSerializer):
    """An order import: a vendor, and either the Letzshop API (optionally ``since``) or a JSON ``file`` of shipments."""

    vendor = OrderVendorField()
    since = serializers.DateTimeField(
        required=False,
        help_text="Only shipments updated since (ISO 8601). Default: since the vendor's last successful import.",
    )
    file = ShipmentsFileField(
        source="upload",
        required=False,
        allow_empty_file=False,
        help_text="A JSON file of shipment nodes in the API's shape (multipart), imported instead of the API.",
    )

    def validate_file(self, value):
        # The context may lift the limit (``max_upload_size=None``): a local file is no HTTP upload.
        limit = self.context.get("max_upload_size", orders_settings.MAX_FILE_SIZE)
        if limit is not None and value.size > limit:
            raise serializers.ValidationError(file_too_large_message())
        return value

    def validate(self, attrs):
        if attrs.get("upload") is not None and attrs.get("since") is not None:
            raise serializers.ValidationError({"since": ["`since` applies to the Letzshop API only: a file is imported whole."]})
        return attrs


class OrderImportApiSerializer(OrderImportInputSerializer):
    """An order import from the Letzshop API (JSON): ``vendor`` and an optional ``since``."""

    file = None


# ``since`` is not documented for a file (imported whole) but still read, so that sending it is a field error.
@extend_schema_serializer(exclude_fields=["since"])
class OrderImportFileSerializer(OrderImportInputSerializer):
    """An order import of a JSON file of shipments (multipart/form-data): ``vendor`` and the ``file``."""

    file = ShipmentsFileField(source="upload", allow_empty_file=False, help_text="A JSON file of shipment nodes.")
