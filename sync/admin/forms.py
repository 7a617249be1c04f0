"""The console's forms: a job kind's "Start a job" form, and the "Import songs" upload."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from django import forms
from django.http import QueryDict

from catalog.files import ImportFileError, detect_format
from sync.kinds import CatalogImportParams
from sync.params import ImportFileField
from sync.registry import JobKind, TargetPolicy
from sync.selectors import import_files_list


class ImportFileChoiceField(ImportFileField):
    """An ``ImportFileField`` picked from the import folder's files instead of typed in."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        files = import_files_list()
        choices = [("", "— choose an uploaded file —" if files else "— no file uploaded yet —")]
        choices += [(f.name, f.label) for f in files]
        self.widget = forms.Select(choices=choices)
        self.help_text = (
            "A file uploaded on the Import songs page, newest first."
            if files
            else "No file in the import folder yet: upload one on the Import songs page."
        )


class StartForm(forms.Form):
    """A kind's parameter form, prefixed by the kind's name, plus the target user if it has one."""

    def __init__(self, kind: JobKind, data: QueryDict | None = None) -> None:
        super().__init__(data=data, prefix=kind.name)
        self.kind = kind
        self.param_names = list(kind.param_fields())
        for name, field in kind.param_fields().items():
            if isinstance(field, ImportFileField):
                self.fields[name] = ImportFileChoiceField(
                    required=field.required, label=field.label or "File"
                )
            else:
                self.fields[name] = copy.deepcopy(field)
        if kind.target != TargetPolicy.NONE:
            from django.contrib.auth import get_user_model

            self.fields["target_user"] = forms.ModelChoiceField(
                queryset=get_user_model().objects.order_by("username"),
                required=kind.target == TargetPolicy.REQUIRED,
                widget=forms.NumberInput,
                label="Target user",
                help_text="The id of the user whose data the job works on.",
            )

    def params(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.param_names}


class ImportSongsForm(forms.Form):
    file = forms.FileField(help_text="CSV or JSON Lines, optionally gzipped.")
    fmt = CatalogImportParams.base_fields["fmt"]
    strict = CatalogImportParams.base_fields["strict"]
    batch_size = CatalogImportParams.base_fields["batch_size"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None and not cleaned.get("fmt") and not _format_known(upload.name or ""):
            self.add_error(
                "file",
                "Cannot tell the format from the name: choose one, or upload a "
                ".csv, .jsonl or .ndjson file (optionally .gz).",
            )
        return cleaned


def _format_known(name: str) -> bool:
    """Whether the import can tell a file's format from its name (catalog.files's rule)."""
    try:
        detect_format(Path(name), None)
    except ImportFileError:
        return False
    return True
