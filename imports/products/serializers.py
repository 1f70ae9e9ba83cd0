"""The product import's input, validated once: the API, the admin form and the command use it."""
from django.core.validators import URLValidator
from rest_framework import serializers

from wizamart.marketplace.models import Vendor

from ..conf import human_size, import_setting
from .sources import validate_feed_url


def upload_size_limit() -> int:
    return import_setting("IMPORTS_MAX_UPLOAD_SIZE")


def upload_too_large_message(limit: int | None = None) -> str:
    """The one message for a feed over the upload limit (API 413, field error, admin form)."""
    return f"The file is larger than the {human_size(upload_size_limit() if limit is None else limit)} upload limit."


class ProductImportInputSerializer(serializers.Serializer):
    """A product import: a vendor, and a feed ``file`` (multipart) or a ``source_url`` to download it from."""

    vendor = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Vendor.objects.all(),
        help_text="The vendor's code.",
        error_messages={"does_not_exist": 'No vendor with code "{value}".'},
    )
    file = serializers.FileField(
        source="upload", required=False, allow_empty_file=False, help_text="The CSV feed (multipart upload)."
    )
    source_url = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Or an http(s) URL the feed is downloaded from."
    )
    marketplace = serializers.CharField(required=False, default="letzshop", max_length=50)
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Count what would change; write nothing.")
    deactivate_missing = serializers.BooleanField(
        required=False, default=False, help_text="Deactivate the vendor's products missing from the feed."
    )

    def validate_file(self, value):
        limit = upload_size_limit()
        if value.size > limit:
            raise serializers.ValidationError(upload_too_large_message(limit))
        return value

    def validate_source_url(self, value):
        if not value:
            return value
        try:
            value = validate_feed_url(value)
            URLValidator(schemes=["http", "https"])(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        except Exception:
            raise serializers.ValidationError("Enter a valid http or https URL.") from None
        return value

    def validate(self, attrs):
        if attrs.get("upload") and attrs.get("source_url"):
            raise serializers.ValidationError({"file": ["Send either a file or a source_url, not both."]})
        if not attrs.get("upload") and not attrs.get("source_url"):
            raise serializers.ValidationError({"file": ["Send a file (multipart) or a source_url."]})
        return attrs
