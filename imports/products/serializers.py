"""The product import's input, validated once: the API, the admin form and the command use it."""
from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from background_tasks.serializers import TaskInputSerializer
from wizamart.marketplace.serializers import VendorCodeField

from ..conf import human_size, imports_settings
from .sources import validate_feed_url


def upload_size_limit() -> int:
    return imports_settings.MAX_UPLOAD_SIZE


def upload_too_large_message(limit: int | None = None) -> str:
    """The one message for a feed over the upload limit (API 413, field error, admin form)."""
    return f"The file is larger than the {human_size(upload_size_limit() if limit is None else limit)} upload limit."


# The feed URLs the schema documents: http(s), a domain name, no user or password (the API accepts more forms).
FEED_URL_PATTERN = r"^https?://([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\.)+[a-z]{2,10}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]*)*$"


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class FeedFileField(serializers.FileField):
    """The uploaded feed (a multipart file part)."""


@extend_schema_field({"type": "string", "pattern": FEED_URL_PATTERN, "maxLength": 2000})
class FeedUrlField(serializers.CharField):
    """The http(s) URL a feed is downloaded from."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, **kwargs)


class ProductImportInputSerializer(TaskInputSerializer):
    """A product import: a vendor, and a feed ``file`` (multipart) or a ``source_url`` to download it from."""

    vendor = VendorCodeField()
    file = FeedFileField(source="upload", required=False, allow_empty_file=False, help_text="The CSV or Google Merchant XML feed (multipart upload).")
    source_url = FeedUrlField(required=False, allow_blank=True, help_text="Or an http(s) URL the feed is downloaded from.")
    marketplace = serializers.CharField(required=False, default="letzshop", max_length=50)
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Count what would change; write nothing.")
    deactivate_missing = serializers.BooleanField(
        required=False, default=False, help_text="Deactivate the vendor's products missing from the feed."
    )

    def validate_file(self, value):
        # The context may lift the limit (``max_upload_size=None``): a local file is no HTTP upload.
        limit = self.context.get("max_upload_size", upload_size_limit())
        if limit is not None and value.size > limit:
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


class ProductImportUploadSerializer(ProductImportInputSerializer):
    """A product import of an uploaded feed (multipart/form-data): ``vendor`` and the ``file``."""

    file = FeedFileField(source="upload", allow_empty_file=False, help_text="The CSV or Google Merchant XML feed.")
    source_url = None


class ProductImportUrlSerializer(ProductImportInputSerializer):
    """A product import of a feed downloaded from ``source_url`` (JSON or a form)."""

    file = None
    source_url = FeedUrlField(help_text="The http(s) URL the feed is downloaded from.")
