"""Song files: reading CSV and JSON Lines (plain or gzip) into records, and writing records in
the same formats. The columns are catalog.records'; the import and export services
(catalog.services) drive these."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from catalog.records import (
    ACCEPTED_COLUMNS,
    COLUMNS,
    RowInvalid,
    SongRecord,
    artists_cell,
    parse_record,
    record_to_row,
)
from core.exceptions import ApplicationError

FORMATS = ("csv", "jsonl")

# (line, raw fields, None) for a row that could be read, (line, None, reason) for one that not.
RawRow = tuple[int, dict[str, Any] | None, str | None]


class ImportFileError(ApplicationError):
    code = "import_file"
    default_message = "The import file cannot be read."


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


def max_file_bytes() -> int:
    """The most an import reads from one file, decompressed (``SYNC_IMPORT_MAX_BYTES``)."""
    return int(getattr(settings, "SYNC_IMPORT_MAX_BYTES", 2 * 1024**3))


def max_line_chars() -> int:
    """The longest line an import reads (``SYNC_IMPORT_MAX_LINE_CHARS``)."""
    return int(getattr(settings, "SYNC_IMPORT_MAX_LINE_CHARS", 1024 * 1024))


class _CappedReader(io.RawIOBase):
    """The file's bytes (decompressed), refusing more than ``cap`` of them, and turning a
    damaged or fake gzip into an input error instead of a crash."""

    def __init__(self, source: gzip.GzipFile | io.BufferedReader, name: str, cap: int) -> None:
        self._source, self._name, self._cap, self._read = source, name, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._cap + 1 - self._read)
        try:
            data = self._source.read(max(want, 1))
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ImportFileError(
                f"file: {self._name!r} is not a readable gzip file ({exc})"
            ) from None
        self._read += len(data)
        if self._read > self._cap:
            raise ImportFileError(
                f"file: {self._name!r} holds more than {self._cap:,} bytes (decompressed); "
                "split it or raise SYNC_IMPORT_MAX_BYTES"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


def _open_text(path: Path) -> IO[str]:
    try:
        # The caller closes the returned wrapper, which closes this.
        raw: gzip.GzipFile | io.BufferedReader = (
            gzip.open(path, "rb")  # noqa: SIM115
            if path.suffix.lower() == ".gz"
            else path.open("rb")
        )
    except OSError as exc:
        raise ImportFileError(f"file: cannot open {path.name!r}: {exc.strerror}") from None
    capped = io.BufferedReader(_CappedReader(raw, path.name, max_file_bytes()))
    # Bad bytes become U+FFFD and the row that holds them is reported, not the whole file.
    return io.TextIOWrapper(capped, encoding="utf-8-sig", errors="replace", newline="")


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines, each read with a bound: a line longer than ``max_line_chars`` is an
    input error before it is held whole in memory (one 512 MiB line in a small gzip)."""
    limit = max_line_chars()
    number = 0
    while line := text.readline(limit + 1):
        number += 1
        if len(line) > limit:
            raise ImportFileError(
                f"file: line {number:,} is longer than {limit:,} characters "
                "(SYNC_IMPORT_MAX_LINE_CHARS)"
            )
        yield line


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


def _csv_rows(text: IO[str]) -> Iterator[RawRow]:
    reader = csv.reader(_bounded_lines(text))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFileError(f"file: the CSV header cannot be read ({exc})") from None
    header = [h.strip().lower() for h in header]
    if "title" not in header:
        if any("\x00" in h or "\ufffd" in h for h in header):
            # UTF-16 (NUL bytes between letters) or not text at all (bytes that are not UTF-8)
            raise ImportFileError(
                "file: not UTF-8 text (UTF-16, or not a CSV at all); save it as UTF-8 CSV"
            )
        raise ImportFileError("file: the CSV header has no 'title' column")
    unknown = [h for h in header if h not in ACCEPTED_COLUMNS]
    if unknown:
        # Named up to a few: a header of 100,000 made-up columns is not echoed back whole.
        named = ", ".join(h[:40] for h in unknown[:10])
        more = f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""
        raise ImportFileError(f"file: unknown CSV columns: {named}{more}")
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


def _jsonl_rows(text: IO[str]) -> Iterator[RawRow]:
    for number, line in enumerate(_bounded_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield number, None, f"invalid JSON ({exc.args[0] if exc.args else exc})"
            continue
        except RecursionError:
            yield number, None, "invalid JSON (nested too deeply)"
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
            if problem is not None or raw is None:
                yield line, None, problem
                continue
            try:
                yield line, parse_record(raw), None
            except RowInvalid as exc:
                yield line, None, str(exc)
            except (ValueError, OverflowError, TypeError) as exc:
                # A value no check foresaw: the row is bad, the import goes on.
                yield line, None, f"unreadable value ({type(exc).__name__})"


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
