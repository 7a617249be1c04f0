"""Every job kind Encore runs, listed in one place (``BUILTIN_KINDS``).

A kind is a function ``run(ctx, params) -> result`` and a ``JobKind`` entry in
``BUILTIN_KINDS``; ``SyncConfig.ready()`` registers the list. The function should call a
service of the app that owns the data (the catalog import service here) and only translate
between that service and the job context. The catalog enrichment kinds live in
``sync.kinds_enrichment`` and are listed here through ``ENRICHMENT_KINDS``.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from django import forms

from catalog.services import MAX_ERRORS_KEPT, ImportFileError, ImportProgress, song_import
from sync.exceptions import JobFailed
from sync.kinds_enrichment import ENRICHMENT_KINDS
from sync.params import ImportFileField
from sync.registry import JobKind
from sync.services.context import JobContext
from sync.services.import_files import import_file_delete, import_file_path

# The bad rows a job's result keeps: all those the import service kept.
RESULT_ERRORS_CAP = MAX_ERRORS_KEPT


# --- catalog_import ---------------------------------------------------------------------------
class CatalogImportParams(forms.Form):
    path = ImportFileField()
    fmt = forms.ChoiceField(
        choices=[("", "Guess from the file name"), ("csv", "CSV"), ("jsonl", "JSON Lines")],
        required=False,
        initial="",
        help_text="File format; by default guessed from .csv / .jsonl / .ndjson (optionally .gz).",
    )
    strict = forms.BooleanField(
        required=False,
        initial=False,
        help_text="Write nothing if any row is bad (the bad rows are listed).",
    )
    batch_size = forms.IntegerField(
        min_value=1, max_value=10_000, initial=1000, help_text="Rows per committed batch."
    )


def catalog_import_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run the catalog import service on a file of the import folder, reporting each batch.

    The service commits each batch and is idempotent, so a cancelled job keeps the batches it
    finished and a job re-run after a lost worker leaves no duplicate songs.
    """

    def on_batch(progress: ImportProgress) -> bool:
        return ctx.checkpoint(
            done=progress.rows_done, total=progress.rows_total, failed=progress.skipped
        )

    try:
        report = song_import(
            path=import_file_path(params["path"]),
            fmt=params.get("fmt") or None,
            strict=bool(params.get("strict")),
            batch_size=int(params["batch_size"]),
            on_batch=on_batch,
        )
    except ImportFileError as exc:
        # The file as a whole cannot be read (its format, header, gzip or size): a retry would
        # fail the same way, so it is deleted now instead of kept for the retention days.
        import_file_delete(name=params["path"])
        raise ImportFileError(f"{exc.message} The file was deleted.") from None
    ctx.report(
        done=report.rows_read,
        total=None if report.cancelled else report.rows_read,
        failed=report.skipped,
    )
    errors = [{"line": e.line, "reason": e.reason} for e in report.errors[:RESULT_ERRORS_CAP]]
    result = {
        "file": params["path"],
        "rows_read": report.rows_read,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "seconds": round(report.seconds, 3),
        "cancelled": report.cancelled,
        "errors": errors,
        "errors_truncated": bool(report.errors_truncated or len(report.errors) > len(errors)),
    }
    if getattr(report, "strict_refused", False):
        # Strict mode checks the whole file first and writes nothing if any row is bad.
        raise JobFailed(
            f"{report.skipped} bad rows; nothing was imported (strict mode).",
            code="import_refused",
            result=result,
        )
    return result


# --- worker_check -----------------------------------------------------------------------------
class WorkerCheckParams(forms.Form):
    items = forms.IntegerField(
        min_value=0, max_value=1_000_000, initial=100, help_text="Items to count through."
    )
    batch_size = forms.IntegerField(
        min_value=1, max_value=100_000, initial=10, help_text="Items per batch (checkpoint)."
    )
    pause_ms = forms.IntegerField(
        min_value=0, max_value=10_000, initial=0, help_text="Time each batch takes, in ms."
    )


def worker_check_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Count through ``items`` in batches without touching any data.

    It proves end to end that a worker picks jobs up, reports progress and honours cancel;
    with ``pause_ms`` it stands in for a slow job. ``bench/jobs.py`` measures the framework
    with it because its own work is nothing.
    """
    items, batch_size = int(params["items"]), int(params["batch_size"])
    pause = int(params["pause_ms"]) / 1000
    done = batches = 0
    ctx.report(done=0, total=items)
    while done < items:
        if pause:
            time.sleep(pause)
        done = min(items, done + batch_size)
        batches += 1
        if not ctx.checkpoint(done=done, total=items):
            break
    return {"items": done, "batches": batches, "worker_host": socket.gethostname()}


BUILTIN_KINDS: list[JobKind] = [
    JobKind(
        name="catalog_import",
        label="Import songs",
        description="Import a CSV or JSON Lines file of songs into the catalog (idempotent).",
        run=catalog_import_run,
        params_form=CatalogImportParams,
        repeatable=True,
        max_attempts=3,
    ),
    JobKind(
        name="worker_check",
        label="Worker check",
        description="Count through items in batches, touching no data: proves the workers "
        "pick up jobs, report progress and honour cancel.",
        run=worker_check_run,
        params_form=WorkerCheckParams,
        repeatable=True,
        max_attempts=1,
    ),
    *ENRICHMENT_KINDS,
]
