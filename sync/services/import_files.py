"""Import files: the folder jobs read song files from (``SYNC_IMPORT_DIR``), and its upkeep.

Jobs only read files there, never an arbitrary server path: the admin's upload and
``sync_run`` put files in, API callers name one. Files are kept so that a retry can read them
again, and purged once past their retention when no active job names them.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.text import get_valid_filename

from core.exceptions import ApplicationError
from sync import conf
from sync.models import ACTIVE_STATUSES, SyncJob
from sync.services.jobs import JobRequest, job_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def import_file_path(name: str) -> Path:
    """The absolute path of ``name`` inside the import folder (no check that it exists)."""
    return conf.import_dir() / name


def import_file_store(*, upload: UploadedFile) -> str:
    """Save an uploaded import file into the import folder; returns its name there.

    The name keeps the original extension (the import service guesses the format from it)
    behind a random prefix, so two uploads of ``songs.csv`` never overwrite each other.
    """
    name = f"{uuid.uuid4().hex[:12]}_{get_valid_filename(Path(upload.name or 'upload').name)}"
    target = conf.import_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return name


def import_file_stage(*, source: Path) -> str:
    """Copy a local file into the import folder (for ``sync_run``); returns its name there."""
    name = f"{uuid.uuid4().hex[:12]}_{get_valid_filename(source.name)}"
    target = conf.import_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return name


def import_file_resolve_local(*, value: str) -> str:
    """The import-folder name for a file parameter given on the command line (``sync_run``).

    A name already in the import folder is kept; a local file is copied in
    (``import_file_stage``); anything else is returned as it is, for the parameter's
    validation to refuse with its own message.
    """
    root = conf.import_dir().resolve()
    inside = import_file_path(value).resolve()
    if inside.is_relative_to(root) and inside.is_file():
        return value
    local = Path(value).expanduser()
    if local.is_file():
        return import_file_stage(source=local)
    return value


def import_file_delete(*, name: str) -> None:
    """Delete a file of the import folder; one that is already gone is not an error."""
    import_file_path(name).unlink(missing_ok=True)


def import_upload_start(
    *, upload: UploadedFile, params: Mapping[str, Any], trigger: str, triggered_by: User | None
) -> JobRequest:
    """Store an uploaded song file and start a ``catalog_import`` job on it.

    ``params`` are the job's other parameters (``fmt``, ``strict``, ``batch_size``). When no
    new job will read the file (the parameters were refused, or an import is already active
    and is returned instead) the file is deleted at once rather than left to the purge.
    """
    name = import_file_store(upload=upload)
    try:
        request = job_create(
            kind="catalog_import",
            params={"path": name, **params},
            trigger=trigger,
            triggered_by=triggered_by,
        )
    except ApplicationError:
        import_file_delete(name=name)
        raise
    if not request.created:
        import_file_delete(name=name)
    return request


def import_files_purge(*, now: datetime | None = None) -> list[str]:
    """Delete the import folder's files that are past their retention and not in use.

    A file stays while a pending or running job names it, and for
    ``SYNC_IMPORT_FILE_RETENTION_DAYS`` after it was last written, so a failed import can be
    retried. Returns the names deleted; a file that vanished meanwhile is not an error.
    """
    root = conf.import_dir()
    if not root.is_dir():
        return []
    cutoff = ((now or timezone.now()) - conf.import_file_retention()).timestamp()
    in_use = {
        params.get("path")
        for params in SyncJob.objects.filter(status__in=ACTIVE_STATUSES).values_list(
            "params", flat=True
        )
        if isinstance(params, dict)
    }
    deleted = []
    for path in sorted(root.iterdir()):
        try:
            if not path.is_file() or path.name in in_use or path.stat().st_mtime >= cutoff:
                continue
            # A job (a retry, say) may have named the file since the list above was read.
            active = SyncJob.objects.filter(status__in=ACTIVE_STATUSES, params__path=path.name)
            if active.exists():
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        deleted.append(path.name)
    return deleted
