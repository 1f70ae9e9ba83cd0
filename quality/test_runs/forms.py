"""The admin's trigger form: the selection, validated by the API's input serializer."""
from django import forms

from background_tasks.admin import InputSerializerFormMixin

from .models import TestRun
from .serializers import TestRunInputSerializer


class TestRunForm(InputSerializerFormMixin, forms.ModelForm):
    """Paths one per line; -k and -m expressions; a failure limit."""

    __test__ = False

    input_serializer_class = TestRunInputSerializer
    serializer_fields = {"paths_text": "paths"}

    paths_text = forms.CharField(
        label="Tests",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "placeholder": "tests/exports\ntests/imports/test_upsert.py::test_x"}),
        help_text="Paths or node ids under tests/, one per line; empty runs the whole suite.",
    )

    class Meta:
        model = TestRun
        fields = ("keyword", "markers", "maxfail")

    def serializer_data(self, cleaned: dict) -> dict:
        data = super().serializer_data(cleaned)
        data["paths"] = [line.strip() for line in (cleaned.get("paths_text") or "").splitlines() if line.strip()]
        return data
