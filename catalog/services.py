"""Catalog writes: import and export of song files, the demo catalog, edits of a song's artists.

Imports stream: a file is read row by row (catalog.files) on a second thread
(catalog.readahead) and written in batches (catalog.upsert), each in its own transaction, so
memory does not grow with the file and a stopped import keeps the batches it finished (and,
being idempotent, can simply be run again).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import connection
from django.db.models import QuerySet

from catalog.files import (
    FORMATS,
    ImportFileError,
    count_rows,
    detect_format,
    iter_records,
    records_write,
)
from catalog.identity import is_provisional
from catalog.models import Song
from catalog.readahead import read_ahead
from catalog.records import SongRecord
from catalog.selectors import songs_for_display
from catalog.upsert import (
    PreparedRecord,
    UpsertContext,
    UpsertResult,
    prepare,
    song_upsert_many,
)

# Names callers import from here, though they are defined in catalog.files.
__all__ = [
    "FORMATS",
    "IMPORT_BATCH_SIZE_MAX",
    "MAX_ERRORS_KEPT",
    "ImportFileError",
    "ImportProgress",
    "ImportReport",
    "RowError",
    "records_write",
    "song_artists_refresh",
    "song_export",
    "song_import",
    "song_records_upsert",
    "song_to_record",
]

MAX_ERRORS_KEPT = 1000
# The largest import batch (rows per transaction), for every way in: ``import_songs
# --batch-size``, the admin's Import songs and Start a job forms, and the staff API.
IMPORT_BATCH_SIZE_MAX = 5000


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportProgress:
    rows_total: int | None
    rows_done: int
    created: int
    updated: int
    unchanged: int
    skipped: int


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rows_read: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    cancelled: bool = False
    strict_refused: bool = False

    def add_error(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, reason))
        else:
            self.errors_truncated = True

    def add(self, result: UpsertResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged

    def progress(self, rows_total: int | None) -> ImportProgress:
        return ImportProgress(
            rows_total=rows_total,
            rows_done=self.rows_read,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            skipped=self.skipped,
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def song_import(
    *,
    path: str | Path,
    fmt: str | None = None,
    strict: bool = False,
    batch_size: int = 1000,
    on_batch: Callable[[ImportProgress], bool | None] | None = None,
) -> ImportReport:
    """Import songs from a CSV or JSON Lines file (see README for the columns).

    Bad rows are reported with their line and skipped. With ``strict`` the file is checked
    first and nothing is written if any row is bad. ``on_batch`` is called after each committed
    batch; returning ``False`` stops the import there (``report.cancelled``).
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    if not path.is_file():
        raise ImportFileError(f"file: {path.name!r} does not exist")
    started = time.monotonic()
    report = ImportReport()
    total = count_rows(path, fmt)

    if strict:
        for line, record, problem in iter_records(path, fmt):
            report.rows_read += 1
            if record is None:
                report.add_error(line, problem or "invalid")
        if report.skipped:
            report.strict_refused = True
            report.seconds = time.monotonic() - started
            return report
        report = ImportReport()

    ctx = UpsertContext()
    copy_text = connection.vendor == "postgresql"
    rows = (
        (line, None if record is None else prepare(record, copy_text=copy_text), problem)
        for line, record, problem in iter_records(path, fmt)
    )
    for chunk in read_ahead(rows, batch_size):
        batch: list[PreparedRecord] = []
        for line, item, problem in chunk:
            report.rows_read += 1
            if item is None:
                report.add_error(line, problem or "invalid")
            else:
                batch.append(item)
        report.add(song_upsert_many(records=batch, ctx=ctx))
        if on_batch is not None and on_batch(report.progress(total)) is False:
            report.cancelled = True
            break
    report.seconds = time.monotonic() - started
    return report


def song_records_upsert(
    *,
    records: Iterable[SongRecord],
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Write records from any source (the demo catalog) through the import's upsert path."""
    started = time.monotonic()
    report = ImportReport()
    ctx = UpsertContext()
    copy_text = connection.vendor == "postgresql"
    prepared = (prepare(record, copy_text=copy_text) for record in records)
    for batch in read_ahead(prepared, batch_size):
        report.rows_read += len(batch)
        report.add(song_upsert_many(records=batch, ctx=ctx))
        if on_batch:
            on_batch(len(batch))
    report.seconds = time.monotonic() - started
    return report


def song_artists_refresh(*, song: Song) -> None:
    """After a song's artist links were edited (the admin): its denormalised names and search
    columns follow the list, and a song created without artists gets its real identity key."""
    names = [sa.artist.name for sa in song.song_artists.select_related("artist")]
    song.artist_names = ", ".join(names)
    if is_provisional(song.identity_key):
        song.assign_identity_key()
    song.save()


# --- Export -----------------------------------------------------------------------------------


def song_to_record(song: Song) -> SongRecord:
    """A song as the record that importing recreates it from (its artists in order: the
    song_artists prefetched by songs_for_display)."""
    return SongRecord(
        title=song.title,
        artists=[sa.artist.name for sa in song.song_artists.all()],
        album=song.album.title if song.album is not None else None,
        duration_ms=song.duration_ms,
        isrc=song.isrc,
        release_date=song.release_date,
        release_date_precision=song.release_date_precision,
        release_year=song.release_year,
        explicit=song.explicit,
        spotify_id=song.spotify_id,
        spotify_uri=song.spotify_uri,
        album_image_url=song.album_image_url,
        popularity=song.popularity,
        preview_url=song.preview_url,
    )


def song_export(
    *,
    out: IO[str],
    fmt: str,
    queryset: QuerySet[Song] | None = None,
    on_row: Callable[[], None] | None = None,
) -> int:
    """Write songs in the import format; importing the output recreates the same songs."""
    songs = songs_for_display(songs=queryset).order_by("id").iterator(chunk_size=2000)
    return records_write(
        out=out, fmt=fmt, records=(song_to_record(song) for song in songs), on_row=on_row
    )
