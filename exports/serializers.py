"""The product export's input, validated once: the API and the admin form use it."""
from rest_framework import serializers

from background_tasks.serializers import TaskInputSerializer
from wizamart.marketplace.models import Product
from wizamart.marketplace.serializers import OptionalVendorCodeField

from .models import ProductExportJob


class ProductExportInputSerializer(TaskInputSerializer):
    """A product export: which products (vendor, availability, changed since) and which file (format, gzip)."""

    vendor = OptionalVendorCodeField(help_text="Vendor code; leave out to export every vendor.")
    format = serializers.ChoiceField(choices=ProductExportJob.Format.choices, default=ProductExportJob.Format.CSV)
    gzip = serializers.BooleanField(default=False)
    availability = serializers.ChoiceField(choices=Product.Availability.choices, required=False, allow_blank=True)
    updated_since = serializers.DateTimeField(required=False, allow_null=True)
