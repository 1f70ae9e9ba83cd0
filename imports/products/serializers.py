"""The product import's input, validated once: the API, the admin form and the command use it."""
import json

from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from background_tasks.serializers import TaskInputSerializer
from wizamart.marketplace.feed import FEED_COLUMNS, REQUIRED_COLUMNS
from wizamart.marketplace.serializers import VendorCodeField

from ..conf import human_size, imports_settings
from .presets import PRESETS
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


MAX_MAPPED_COLUMNS = 500
MAPPING_DESCRIPTION = (
    "How the file's columns are read: source column header (as in the file) -> feed column, or \"\" to ignore "
    "the column. Applied on top of the preset (given, or recognised from the header); without a `preset` parameter, "
    "'id' (the key column), 'title' and 'price' must each come from one column of the mapping. "
    "Kept for the vendor's next files with the same columns."
)
# The "column-mapping" format: an object of that shape (tests turn it into examples the API accepts).
MAPPING_SCHEMA = {
    "type": "object",
    "format": "column-mapping",
    "description": MAPPING_DESCRIPTION,
    "additionalProperties": {"type": "string", "enum": [*FEED_COLUMNS, ""]},
    "maxProperties": MAX_MAPPED_COLUMNS,
    "example": {"Artikelnummer": "id", "Bezeichnung": "title", "Preis": "price", "Intern": ""},
}


def mapping_errors(mapping: dict[str, str], *, complete: bool = True) -> list[str]:
    """What is wrong with a column mapping (source header -> feed column), as messages for the vendor.

    ``complete``: the mapping alone says where id, title and price come from (no preset does).
    """
    errors = []
    for source, target in mapping.items():
        if target and target not in FEED_COLUMNS:
            errors.append(f"Column {source!r} goes to {target!r}, which is not a feed column (known: {', '.join(FEED_COLUMNS)}).")
    targets: dict[str, list[str]] = {}
    for source, target in mapping.items():
        if target:
            targets.setdefault(target, []).append(source)
    for target, sources in targets.items():
        if len(sources) > 1 and target in FEED_COLUMNS:
            errors.append(f"Only one column can go to {target!r} (got {', '.join(map(repr, sources))}).")
    missing = [name for name in REQUIRED_COLUMNS if name not in targets] if complete else []
    if missing:
        errors.append(f"No column goes to {', '.join(map(repr, missing))}: {', '.join(REQUIRED_COLUMNS)} are required.")
    return errors


@extend_schema_field(MAPPING_SCHEMA)
class ColumnMappingField(serializers.Field):
    """A column mapping: a JSON object, or its JSON text (a multipart or form field)."""

    default_error_messages = {
        "invalid": "Enter a JSON object of source column -> feed column.",
        "too_many": f"At most {MAX_MAPPED_COLUMNS} columns can be mapped.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            self.fail("invalid")
        if len(data) > MAX_MAPPED_COLUMNS:
            self.fail("too_many")
        mapping = {str(source): target.strip() for source, target in data.items()}
        if errors := mapping_errors(mapping, complete=False):
            raise serializers.ValidationError(errors)
        return mapping

    def to_representation(self, value):
        return value


MAPPING_TEXT_SCHEMA = {
    "type": "string",
    "format": "column-mapping",
    "description": f"The column mapping as JSON text. {MAPPING_DESCRIPTION}",
    "example": json.dumps(MAPPING_SCHEMA["example"]),
}


@extend_schema_field(MAPPING_TEXT_SCHEMA)
class ColumnMappingTextField(ColumnMappingField):
    """A column mapping as JSON text: how a multipart or form body carries it."""


def preset_choices() -> list[tuple[str, str]]:
    return [(name, preset.label) for name, preset in PRESETS.items()]


class ProductImportInputSerializer(TaskInputSerializer):
    """A product import: a vendor, and a feed ``file`` (multipart) or a ``source_url`` to download it from."""

    vendor = VendorCodeField()
    file = FeedFileField(source="upload", required=False, allow_empty_file=False, help_text="The CSV or Google Merchant XML feed (multipart upload).")
    source_url = FeedUrlField(required=False, allow_blank=True, help_text="Or an http(s) URL the feed is downloaded from.")
    marketplace = serializers.CharField(required=False, default="letzshop", min_length=1, max_length=50)
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Count what would change; write nothing.")
    deactivate_missing = serializers.BooleanField(
        required=False, default=False, help_text="Deactivate the vendor's products missing from the feed."
    )
    preset = serializers.ChoiceField(
        choices=preset_choices(), required=False, allow_blank=True,
        help_text="The shop format whose columns the file has (detected from the header when not given).",
        error_messages={"invalid_choice": f'Unknown preset "{{input}}" (known: {", ".join(PRESETS) or "none"}).'},
    )
    mapping = ColumnMappingField(required=False)

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
        if attrs.get("mapping") and not attrs.get("preset") and (errors := mapping_errors(attrs["mapping"])):
            raise serializers.ValidationError({"mapping": errors})
        if attrs.get("upload") and attrs.get("source_url"):
            raise serializers.ValidationError({"file": ["Send either a file or a source_url, not both."]})
        if not attrs.get("upload") and not attrs.get("source_url"):
            raise serializers.ValidationError({"file": ["Send a file (multipart) or a source_url."]})
        return attrs


class ProductImportUploadSerializer(ProductImportInputSerializer):
    """A product import of an uploaded feed (multipart/form-data): ``vendor`` and the ``file``."""

    file = FeedFileField(source="upload", allow_empty_file=False, help_text="The CSV or Google Merchant XML feed.")
    source_url = None
    mapping = ColumnMappingTextField(required=False)


class ProductImportUrlSerializer(ProductImportInputSerializer):
    """A product import of a feed downloaded from ``source_url`` (JSON or a form)."""

    file = None
    source_url = FeedUrlField(help_text="The http(s) URL the feed is downloaded from.")


class ProductImportUrlFormSerializer(ProductImportUrlSerializer):
    """A product import of a feed downloaded from ``source_url`` (a form: the mapping as JSON text)."""

    mapping = ColumnMappingTextField(required=False)
