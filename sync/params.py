"""Parameter fields shared by job kinds."""

from __future__ import annotations

from typing import Any

from django import forms

from sync import conf


class ImportFileField(forms.CharField):
    """A file in the import folder (``SYNC_IMPORT_DIR``), named relative to that folder.

    Jobs may only read files an operator put there (the admin's "Import songs" upload, or
    ``sync_run``, which copies a local file in), never an arbitrary server path: an API caller
    must not be able to make a worker read, and report lines of, ``/etc/passwd``.
    """

    default_error_messages = {
        "outside": "must name a file inside the import folder.",
        "missing": "no such file in the import folder: %(name)s.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault(
            "help_text", "A file in the import folder (upload one on the Import songs page)."
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        name = super().clean(value)
        if not name:
            return name
        root = conf.import_dir().resolve()
        candidate = (root / name).resolve()
        if not candidate.is_relative_to(root) or candidate == root:
            raise forms.ValidationError(self.error_messages["outside"], code="outside")
        if not candidate.is_file():
            raise forms.ValidationError(
                self.error_messages["missing"], code="missing", params={"name": name}
            )
        return candidate.relative_to(root).as_posix()


class NoParams(forms.Form):
    """A kind that takes no parameters (its target user, if any, says what it works on)."""
