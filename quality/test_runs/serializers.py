"""A test run's input, validated once (the API, the admin form and the command all go through it)."""
from rest_framework import serializers

from .selection import EXPRESSION_MAX, MAXFAIL_MAX, SelectionError, selection_clean


class TestRunInputSerializer(serializers.Serializer):
    """Which tests to run: paths or node ids under tests/, a -k and a -m expression, a failure limit."""

    __test__ = False

    paths = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=list,
        help_text='Test paths or node ids under tests/, e.g. "tests/exports" or "tests/exports/test_admin.py::test_x"; '
        "empty runs the whole suite.",
    )
    keyword = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=EXPRESSION_MAX, help_text="A -k expression."
    )
    markers = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=EXPRESSION_MAX, help_text="A -m expression."
    )
    maxfail = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAXFAIL_MAX,
        help_text="Stop after this many failures.",
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
