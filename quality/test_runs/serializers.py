"""A test run's input, validated once (the API, the admin form and the command all go through it)."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from background_tasks.serializers import TaskInputSerializer

from .conf import test_run_settings
from .selection import EXPRESSION, EXPRESSION_MAX, MAXFAIL_MAX, PATH_MAX, SelectionError, selection_clean

# In the API schema: the "test-path" format says the path must exist under tests/ (the pattern
# alone cannot); "pytest-expression" says pytest's -k/-m grammar must accept it.
TEST_PATH_SCHEMA = {
    "type": "string",
    "format": "test-path",
    "pattern": r"^[\w.\-/]+(::[\w.\-\[\],=+ /:]+)*$",
    "maxLength": PATH_MAX,
}
EXPRESSION_SCHEMA = {"type": "string", "format": "pytest-expression", "pattern": EXPRESSION.pattern, "maxLength": EXPRESSION_MAX}


@extend_schema_field({"type": "array", "items": TEST_PATH_SCHEMA, "maxItems": test_run_settings.MAX_PATHS})
class TestPathsField(serializers.Field):
    """A list of test paths or node ids; its errors are one flat list of messages."""

    __test__ = False

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise serializers.ValidationError("Must be a list of test paths or node ids (strings).")
        return data

    def to_representation(self, value):
        return list(value)


@extend_schema_field(EXPRESSION_SCHEMA)
class ExpressionField(serializers.CharField):
    """A -k or -m expression."""


class TestRunInputSerializer(TaskInputSerializer):
    """Which tests to run: paths or node ids under tests/, a -k and a -m expression, a failure limit."""

    __test__ = False

    paths = TestPathsField(
        required=False,
        default=list,
        help_text='Test paths or node ids under tests/, e.g. "tests/exports" or "tests/exports/test_admin.py::test_x"; '
        "empty runs the whole suite.",
    )
    keyword = ExpressionField(
        required=False, allow_blank=True, default="", max_length=EXPRESSION_MAX, help_text="A -k expression."
    )
    markers = ExpressionField(
        required=False, allow_blank=True, default="", max_length=EXPRESSION_MAX, help_text="A -m expression."
    )
    maxfail = serializers.IntegerField(
        required=False, min_value=1, max_value=MAXFAIL_MAX, help_text="Stop after this many failures (leave out: no limit)."
    )

    def validate(self, attrs):
        try:
            selection = selection_clean(**attrs)
        except SelectionError as exc:
            raise serializers.ValidationError(exc.errors) from None
        return {
            "paths": selection.paths,
            "keyword": selection.keyword,
            "markers": selection.markers,
            "maxfail": selection.maxfail,
        }
