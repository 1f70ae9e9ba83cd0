"""The product export's input, validated once: the API and the admin form use it."""
from rest_framework import serializers

from wizamart.marketplace.models import Product, Vendor

from .models import ProductExportJob


class ProductExportInputSerializer(serializers.Serializer):
    """A product export: which products (vendor, availability, changed since) and which file (format, gzip)."""

    vendor = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Vendor.objects.all(),
        required=False,
        allow_null=True,
        help_text="Vendor code; leave out to export every vendor.",
        error_messages={"does_not_exist": 'No vendor with code "{value}".'},
    )
    format = serializers.ChoiceField(choices=ProductExportJob.Format.choices, default=ProductExportJob.Format.CSV)
    gzip = serializers.BooleanField(default=False)
    availability = serializers.ChoiceField(choices=Product.Availability.choices, required=False, allow_blank=True)
    updated_since = serializers.DateTimeField(required=False, allow_null=True)
