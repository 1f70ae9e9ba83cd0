"""The admin's trigger form: the selection, validated by the API's input serializer."""
from django import forms

from .models import TestRun
from .serializers import TestRunInputSerializer


class TestRunForm(forms.ModelForm):
    """Paths one per line; -k and -m expressions; a failure limit."""

    __test__ = False

    paths_text = forms.CharField(
        label="Tests",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "placeholder": "tests/exports\ntests/imports/test_upsert.py::test_x"}),
        help_text="Paths or node ids under tests/, one per line; empty runs the whole suite.",
    )

    class Meta:
        model = TestRun
        fields = ("keyword", "markers", "maxfail")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        serializer = TestRunInputSerializer(
            data={
                "paths": [line.strip() for line in cleaned.get("paths_text", "").splitlines() if line.strip()],
                "keyword": cleaned.get("keyword") or "",
                "markers": cleaned.get("markers") or "",
                "maxfail": cleaned.get("maxfail"),
            }
        )
        if not serializer.is_valid():
            for name, messages in serializer.errors.items():
                field = "paths_text" if name == "paths" else name
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(field if field in self.fields else None, str(message))
            return cleaned
        self.selection = serializer.validated_data
        return cleaned
