"""The admin's column mapping screen: the key column, each source column's feed field, the preset."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from wizamart.marketplace.feed import FEED_COLUMNS

from .presets import PRESETS
from .serializers import mapping_errors

IGNORE_LABEL = "— not imported —"


def preset_field(*, label: str = "Preset", help_text: str = "") -> forms.ChoiceField:
    choices = [("", "Detect from the header"), *((name, preset.label) for name, preset in PRESETS.items())]
    return forms.ChoiceField(choices=choices, required=False, label=label, help_text=help_text)


class SourceColumnForm(forms.Form):
    """One source column of the file and the feed field it goes to (the key column goes to ``id``)."""

    field = forms.ChoiceField(choices=[("", IGNORE_LABEL), *((name, name) for name in FEED_COLUMNS)], required=False)


class BaseSourceColumnFormSet(forms.BaseFormSet):
    """One form per column of the file's header, in order. A column the preset reads by a rule
    (``notes``: source header -> what it does) offers that first, as the preset reads it."""

    def __init__(self, *args, header: list[str], notes: dict[str, str] | None = None, **kwargs):
        self.header = header
        super().__init__(*args, **kwargs)
        for form, cell in zip(self.forms, header, strict=False):
            form.source = cell
            form.fields["field"].label = cell
            if note := (notes or {}).get(cell):
                form.fields["field"].choices = [(note, note), *form.fields["field"].choices]

    def clean(self):
        if self.total_form_count() != len(self.header):
            raise ValidationError("The columns sent are not those of the file; reload the page.")


def source_column_formset(
    header: list[str], *, data=None, mapping: dict[str, str] | None = None, notes: dict[str, str] | None = None
):
    """The formset of the file's columns, prefilled from ``mapping`` (source header -> feed column, or
    a note: see BaseSourceColumnFormSet)."""
    FormSet = forms.formset_factory(
        SourceColumnForm, formset=BaseSourceColumnFormSet, extra=0, min_num=len(header), max_num=len(header),
        absolute_max=max(len(header), 1),
    )
    initial = [{"field": (mapping or {}).get(cell, "")} for cell in header]
    return FormSet(data=data, initial=None if data is not None else initial, prefix="columns", header=header, notes=notes)


class ColumnsForm(forms.Form):
    """The mapping screen's own fields: the preset and the key column."""

    preset = preset_field(help_text="Pick another shop format and click “Update preview” to start over from its columns.")
    key_column = forms.TypedChoiceField(
        coerce=int, label="Key column", help_text="The column that identifies a product (its sku): it goes to id."
    )
    # The preset the columns below were filled from: another preset picked starts over from its columns.
    shown_preset = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key_column"].choices = [("", "— choose —"), *((i, cell or f"(column {i + 1})") for i, cell in enumerate(header))]


def chosen_overrides(header: list[str], columns: ColumnsForm, formset, *, baseline: dict[str, str], baseline_key) -> dict[str, str]:
    """The columns the user set apart from how the preset reads them (source header -> feed column),
    the key column included; raise ValidationError naming what is wrong."""
    key = header[columns.cleaned_data["key_column"]]
    overrides: dict[str, str] = {}
    for cell, form in zip(header, formset.forms, strict=True):
        target = form.cleaned_data.get("field", "")
        if cell == key:
            # Left as shown (a note such as "id, for a row without a SKU" included), it goes to id.
            if target not in ("", "id", baseline.get(cell, "")):
                raise ValidationError(f"The key column {cell!r} goes to id; it cannot also go to {target!r}.")
            continue
        if target == "id" and baseline.get(cell) != "id":
            raise ValidationError(f"Column {cell!r} cannot go to id: the key column ({key!r}) does.")
        if target != baseline.get(cell, ""):
            overrides[cell] = target
    if key != baseline_key:
        overrides[key] = "id"
    if errors := mapping_errors(overrides, complete=False):
        raise ValidationError(errors)
    return overrides
