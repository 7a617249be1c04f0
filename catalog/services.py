"""Catalog writes: import and export of song files, the demo catalog.

Imports stream: a file is read row by row and written in batches, each in its own transaction,
so memory does not grow with the file and a stopped import keeps the batches it finished
(and, being idempotent, can simply be run again).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import connection
from django.db.models import Prefetch, QuerySet

from catalog.models import Song, SongArtist
from catalog.records import (
    ACCEPTED_COLUMNS,
    COLUMNS,
    RowInvalid,
    SongRecord,
    artists_cell,
    parse_record,
    record_to_row,
)
from catalog.upsert import (
    PreparedRecord,
    UpsertContext,
    UpsertResult,
    prepare,
    song_upsert_many,
)
from core.exceptions import ApplicationError

FORMATS = ("csv", "jsonl")
MAX_ERRORS_KEPT = 1000


class ImportFileError(ApplicationError):
    code = "import_file"
    default_message = "The import file cannot be read."


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


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ImportFileError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1] if suffixes else ""
    if ext == ".csv":
        return "csv"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    raise ImportFileError(
        f"format: cannot tell the format of {path.name!r}; use a .csv or .jsonl name or --format"
    )


def _open_text(path: Path) -> IO[str]:
    try:
        # The caller closes the returned wrapper, which closes this.
        raw: IO[bytes] = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")  # noqa: SIM115
    except OSError as exc:
        raise ImportFileError(f"file: cannot open {path.name!r}: {exc.strerror}") from None
    # Bad bytes become U+FFFD and the row that holds them is reported, not the whole file.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def count_rows(path: Path, fmt: str) -> int | None:
    """A fast estimate of the rows in a file (its lines), for progress; None if compressed."""
    if path.suffix.lower() == ".gz":
        return None
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - 1) if fmt == "csv" else lines


def _csv_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFileError(f"file: the CSV header cannot be read ({exc})") from None
    header = [h.strip().lower() for h in header]
    if "title" not in header:
        raise ImportFileError("file: the CSV header has no 'title' column")
    unknown = [h for h in header if h not in ACCEPTED_COLUMNS]
    if unknown:
        raise ImportFileError(f"file: unknown CSV columns: {', '.join(unknown)}")
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            yield start, None, f"unreadable CSV ({exc})"
            continue
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield start, None, f"expected {len(header)} columns, found {len(row)}"
            continue
        yield start, dict(zip(header, row, strict=True)), None


def _jsonl_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield number, None, f"invalid JSON ({exc.args[0] if exc.args else exc})"
            continue
        if not isinstance(value, dict):
            yield number, None, "expected a JSON object"
            continue
        unknown = [k for k in value if k not in ACCEPTED_COLUMNS]
        if unknown:
            yield number, None, f"unknown fields: {', '.join(sorted(unknown))}"
            continue
        yield number, value, None


def iter_records(path: Path, fmt: str) -> Iterator[tuple[int, SongRecord | None, str | None]]:
    """(line, record, None) for each good row and (line, None, reason) for each bad one."""
    with _open_text(path) as text:
        rows = _csv_rows(text) if fmt == "csv" else _jsonl_rows(text)
        for line, raw, problem in rows:
            if problem is not None:
                yield line, None, problem
                continue
            try:
                yield line, parse_record(raw), None
            except RowInvalid as exc:
                yield line, None, str(exc)
            except (ValueError, OverflowError, TypeError) as exc:
                # A value no check foresaw: the row is bad, the import goes on.
                yield line, None, f"unreadable value ({type(exc).__name__})"


_DONE = object()


def _read_ahead(items: Iterator[Any], size: int, depth: int = 2) -> Iterator[list[Any]]:
    """Chunks of ``items``, read and parsed by a second thread while the caller writes.

    Parsing is Python work and writing is mostly waiting on the database, so overlapping them
    nearly halves an import. At most ``depth`` chunks wait in memory. An error in the reader
    is raised here; leaving the loop early stops the reader.
    """
    chunks: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                chunks.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in _chunks(items, size):
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    reader = threading.Thread(target=read, name="import-reader", daemon=True)
    with _prompt_thread_switches():
        reader.start()
        try:
            while True:
                value = chunks.get()
                if value is _DONE:
                    return
                if isinstance(value, BaseException):
                    raise value
                yield value
        finally:
            stop.set()
            reader.join(timeout=5)


_switching = threading.Lock()
_switching_users = 0
_switch_interval_before = 0.0


@contextlib.contextmanager
def _prompt_thread_switches() -> Iterator[None]:
    """While readers run, hand the GIL over every 0.5 ms instead of Python's default 5 ms.

    The writing thread mostly waits on the database; when a reply arrives it needs the GIL
    back from the reader at once, or every round trip of a batch waits up to 5 ms on it.
    The interval is process-wide: the first of concurrent imports lowers it, the last one
    puts it back.
    """
    global _switching_users, _switch_interval_before
    with _switching:
        if _switching_users == 0:
            _switch_interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_interval_before, 0.0005))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching:
            _switching_users -= 1
            if _switching_users == 0:
                sys.setswitchinterval(_switch_interval_before)


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
    for chunk in _read_ahead(rows, batch_size):
        batch: list[PreparedRecord] = []
        for line, record, problem in chunk:
            report.rows_read += 1
            if record is None:
                report.add_error(line, problem or "invalid")
            else:
                batch.append(record)
        _add(report, song_upsert_many(records=batch, ctx=ctx))
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
    for batch in _read_ahead(prepared, batch_size):
        report.rows_read += len(batch)
        _add(report, song_upsert_many(records=batch, ctx=ctx))
        if on_batch:
            on_batch(len(batch))
    report.seconds = time.monotonic() - started
    return report


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _add(report: ImportReport, result: UpsertResult) -> None:
    report.created += result.created
    report.updated += result.updated
    report.unchanged += result.unchanged


# --- Export -----------------------------------------------------------------------------------


def song_to_record(song: Song) -> SongRecord:
    return SongRecord(
        title=song.title,
        artists=[sa.artist.name for sa in song.song_artists.all()],
        album=song.album.title if song.album_id else None,
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


def _export_queryset(queryset: QuerySet[Song] | None) -> QuerySet[Song]:
    queryset = Song.objects.all() if queryset is None else queryset
    return (
        queryset.select_related("album")
        .prefetch_related(
            Prefetch(
                "song_artists",
                queryset=SongArtist.objects.select_related("artist").order_by("position"),
            )
        )
        .order_by("id")
    )


def _csv_value(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "artists":
        return artists_cell(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def records_write(
    *,
    out: IO[str],
    fmt: str,
    records: Iterable[SongRecord],
    on_row: Callable[[], None] | None = None,
) -> int:
    """Write records in the import format (CSV with a header, or JSON Lines)."""
    if fmt not in FORMATS:
        raise ImportFileError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    count = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(COLUMNS)
    for record in records:
        row = record_to_row(record)
        if writer:
            writer.writerow([_csv_value(k, row[k]) for k in COLUMNS])
        else:
            out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
        count += 1
        if on_row:
            on_row()
    return count


def song_export(
    *,
    out: IO[str],
    fmt: str,
    queryset: QuerySet[Song] | None = None,
    on_row: Callable[[], None] | None = None,
) -> int:
    """Write songs in the import format; importing the output recreates the same songs."""
    songs = _export_queryset(queryset).iterator(chunk_size=2000)
    return records_write(
        out=out, fmt=fmt, records=(song_to_record(song) for song in songs), on_row=on_row
    )
