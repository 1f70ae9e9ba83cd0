"""Serializer fields of the domain that several task types' inputs share."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Vendor

# The vendor code in the API schema: a slug; the "vendor-code" format says it must name an existing vendor.
VENDOR_CODE_SCHEMA = {"type": "string", "format": "vendor-code", "pattern": r"^[-a-zA-Z0-9_]+$", "maxLength": 64}


@extend_schema_field(VENDOR_CODE_SCHEMA)
class VendorCodeField(serializers.SlugRelatedField):
    """A vendor, given by its code; an unknown code is a field error naming it."""

    default_error_messages = {"does_not_exist": 'No vendor with code "{value}".'}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The vendor's code.")
        super().__init__(slug_field="code", queryset=Vendor.objects.all(), **kwargs)


@extend_schema_field({**VENDOR_CODE_SCHEMA, "pattern": r"^[-a-zA-Z0-9_]*$", "nullable": True})
class OptionalVendorCodeField(VendorCodeField):
    """A vendor by its code, or none: null or an empty code mean every vendor."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)
