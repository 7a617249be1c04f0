"""Importing Spotify's streaming-history export as plays (docs/library.md, "The export").

``import_history`` (the upload) checks every file at once, so a bad file is refused with its
name and the problem before anything is stored, then keeps the files in the job framework's
import folder and starts a ``user_history_import`` job (big exports take a while: a job, not a
request). The job (``history_import``) reads the files again and writes every play of the
upload in **one transaction**: all or nothing for the whole file set. It is idempotent (the
plays' unique key and the export/API window rule of ``library.services.store``), so a retry
or a second upload of the same files adds nothing. Gaps with plays inside them are marked
filled. The files, which hold personal data, are deleted once imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from library.exceptions import HistoryFileInvalid, HistoryImportBusy
from library.history_files import ParsedFile, history_file_parse
from library.metrics import record_gaps_filled, record_plays
from library.models import Play, PlayGap, PlaySource
from library.selectors import HISTORY_KIND
from library.services.songs import songs_known
from library.services.store import NewPlay, plays_store
from spotify_integration.models import SpotifyConnection
from sync.models import JobTrigger, SyncJob
from sync.services.import_files import import_file_delete, import_file_path, import_file_store
from sync.services.jobs import job_create

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

HistoryUpload = UploadedFile | tuple[str, IO[bytes] | bytes]


@dataclass
class HistoryImportReport:
    files: int = 0
    rows: int = 0
    skipped_episodes: int = 0
    skipped_short: int = 0  # played under LIBRARY_EXPORT_MIN_MS_PLAYED: skips, not plays
    inserted: int = 0
    duplicates: int = 0  # already stored (this key, or the API's play within the window)
    gaps_filled: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _read(upload: HistoryUpload) -> tuple[str, bytes]:
    if isinstance(upload, tuple):
        name, content = upload
        data = content if isinstance(content, bytes | bytearray) else content.read()
        return str(name), bytes(data)
    limit = settings.LIBRARY_HISTORY_MAX_FILE_BYTES
    name = upload.name or "upload"
    if upload.size is not None and upload.size > limit:
        raise HistoryFileInvalid(
            f"{name}: larger than {limit} bytes; split the upload.",
            detail={"file": name, "problem": "too_big"},
        )
    return name, b"".join(upload.chunks())


def _check_and_store(files: Sequence[HistoryUpload]) -> list[str]:
    """Check every file and keep it in the import folder, one file in memory at a time;
    on the first bad file delete what was kept and raise. Returns the names kept."""
    if not files:
        raise HistoryFileInvalid("files: no file was uploaded.", detail={"file": None})
    if len(files) > settings.LIBRARY_HISTORY_MAX_FILES:
        raise HistoryFileInvalid(
            f"files: at most {settings.LIBRARY_HISTORY_MAX_FILES} files an upload.",
            detail={"file": None},
        )
    stored: list[str] = []
    try:
        for upload in files:
            name, data = _read(upload)
            history_file_parse(name, data, max_bytes=settings.LIBRARY_HISTORY_MAX_FILE_BYTES)
            base = name.rsplit("/", 1)[-1]
            stored.append(import_file_store(upload=SimpleUploadedFile(base, data)))
            del data
    except BaseException:
        _delete(stored)
        raise
    return stored


def import_history(
    connection: SpotifyConnection,
    files: Sequence[HistoryUpload],
    *,
    triggered_by: AbstractBaseUser | None = None,
    trigger: str = JobTrigger.API,
) -> SyncJob:
    """Check the uploaded export files and start the job that imports them; returns the job.

    Raises ``HistoryFileInvalid`` (400, naming the file, the row and the problem; nothing is
    kept: files checked before the bad one are deleted again) and ``HistoryImportBusy``
    (409) while an import of this user's history runs.
    """
    stored = _check_and_store(files)
    try:
        request = job_create(
            kind=HISTORY_KIND,
            params={"names": ",".join(stored)},
            trigger=trigger,
            triggered_by=triggered_by,  # type: ignore[arg-type]
            target_user=connection.user,
        )
    except ApplicationError:
        _delete(stored)
        raise
    if not request.created:
        _delete(stored)
        raise HistoryImportBusy(detail={"job_id": request.job.pk})
    return request.job


def _delete(names: Sequence[str]) -> None:
    for name in names:
        import_file_delete(name=name)


def history_import(*, connection: SpotifyConnection, names: Sequence[str]) -> HistoryImportReport:
    """The job's work: every play of the stored files, in one transaction; then the files go."""
    parsed: list[ParsedFile] = []
    for name in names:
        data = import_file_path(name).read_bytes()
        parsed.append(
            history_file_parse(name, data, max_bytes=settings.LIBRARY_HISTORY_MAX_FILE_BYTES)
        )
    report = history_rows_import(connection=connection, parsed=parsed)
    _delete(names)
    return report


def history_rows_import(
    *, connection: SpotifyConnection, parsed: Sequence[ParsedFile]
) -> HistoryImportReport:
    report = HistoryImportReport(files=len(parsed))
    minimum = settings.LIBRARY_EXPORT_MIN_MS_PLAYED
    rows = [row for f in parsed for row in f.rows]
    report.rows = len(rows)
    report.skipped_episodes = sum(f.skipped_episodes for f in parsed)
    kept = [r for r in rows if r.ms_played >= minimum]
    report.skipped_short = len(rows) - len(kept)
    songs = songs_known(r.track_id for r in kept)
    plays = [
        NewPlay(
            played_at=r.played_at,
            track_id=r.track_id,
            song_id=songs.get(r.track_id),
            ms_played=r.ms_played,
        )
        for r in kept
    ]
    with transaction.atomic():
        result = plays_store(connection_id=connection.pk, plays=plays, source=PlaySource.EXPORT)
        report.gaps_filled = _fill_gaps(connection.pk)
    report.inserted, report.duplicates = len(result.inserted), result.duplicates
    record_plays(source=PlaySource.EXPORT, count=report.inserted)
    record_gaps_filled(len(report.gaps_filled))
    return report


def _fill_gaps(connection_id: int) -> list[int]:
    """Mark filled every open gap with export plays strictly inside it; returns their ids."""
    now = timezone.now()
    filled = []
    gaps = PlayGap.objects.filter(connection_id=connection_id, filled_at__isnull=True)
    for gap in gaps.select_for_update():
        count = Play.objects.filter(
            connection_id=connection_id,
            played_at__gt=gap.start,
            played_at__lt=gap.end,
            source=PlaySource.EXPORT,
        ).count()
        if count:
            gap.filled_at, gap.filled_plays = now, count
            gap.save(update_fields=["filled_at", "filled_plays"])
            filled.append(gap.pk)
    return filled


__all__ = ["HistoryImportReport", "history_import", "import_history"]
