"""Reading Spotify's streaming-history export files (the JSON a user downloads from Spotify).

Only the *Extended streaming history* (``Streaming_History_Audio_*.json``) is imported: each
row is an object with ``ts`` (ISO UTC, when the stream ended, whole seconds), ``ms_played``
and ``spotify_track_uri`` (null for podcast episodes, which are skipped). Only those three
fields are read: the personal ones (``ip_addr``, ``platform``, ``conn_country``, ...) are
never kept, nor are names (the catalog has them by Spotify id).

The older account-data export (``StreamingHistory*.json``: ``endTime``, ``artistName``,
``trackName``, ``msPlayed``) names no track id, and matching names to tracks would store
guesses as plays; it is refused with that reason (docs/library.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from core.parsing import is_spotify_id
from library.exceptions import HistoryFileInvalid

TRACK_URI_PREFIX = "spotify:track:"
# Play.ms_played is a PostgreSQL integer: a larger value would fail the import job, not the upload.
MAX_MS_PLAYED = 2**31 - 1
OLD_EXPORT_REASON = (
    "this is the account-data export (StreamingHistory*.json), which names no track ids; "
    "request the Extended streaming history from Spotify's privacy page and upload its "
    "Streaming_History_Audio_*.json files."
)


@dataclass(frozen=True)
class HistoryRow:
    played_at: datetime  # the export's ts: when the stream ended (UTC, whole seconds)
    track_id: str
    ms_played: int


@dataclass
class ParsedFile:
    name: str
    rows: list[HistoryRow]
    skipped_episodes: int = 0  # podcast or video rows (no track uri)


def _bad(name: str, problem: str) -> HistoryFileInvalid:
    return HistoryFileInvalid(f"{name}: {problem}", detail={"file": name, "problem": problem})


def _parse_ts(value: object) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError("ts: expected an ISO date-time string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"ts: not an ISO date-time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"ts: no time zone: {value[:40]!r}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # a local time on the first or last day of the calendar
        raise ValueError(f"ts: out of range: {value[:40]!r}") from None


def _parse_row(raw: object) -> HistoryRow | None:
    """A row, or ``None`` for a podcast/video row; ``ValueError`` naming the field."""
    if not isinstance(raw, dict):
        raise ValueError("expected an object")
    if "endTime" in raw and "ts" not in raw:
        raise ValueError(OLD_EXPORT_REASON)
    if "ts" not in raw or "ms_played" not in raw or "spotify_track_uri" not in raw:
        missing = [k for k in ("ts", "ms_played", "spotify_track_uri") if k not in raw]
        raise ValueError(f"missing {', '.join(missing)}")
    played_at = _parse_ts(raw["ts"])
    ms = raw["ms_played"]
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_MS_PLAYED:
        raise ValueError(f"ms_played: expected a whole number of milliseconds (0-{MAX_MS_PLAYED})")
    uri = raw["spotify_track_uri"]
    if uri is None:
        return None
    if not isinstance(uri, str):
        raise ValueError("spotify_track_uri: expected a string or null")
    if not uri.startswith(TRACK_URI_PREFIX):
        if uri.startswith("spotify:episode:"):
            return None
        raise ValueError(f"spotify_track_uri: not a track uri: {uri[:60]!r}")
    track_id = uri.removeprefix(TRACK_URI_PREFIX)
    if not is_spotify_id(track_id):
        raise ValueError(f"spotify_track_uri: not a track uri: {uri[:60]!r}")
    return HistoryRow(played_at=played_at, track_id=track_id, ms_played=ms)


def history_file_parse(name: str, data: bytes, *, max_bytes: int) -> ParsedFile:
    """Every row of one export file, or ``HistoryFileInvalid`` naming the file and the
    problem (with the row's index). Nothing is written here."""
    if not name.lower().endswith(".json"):
        raise _bad(name, "expected a .json file of Spotify's streaming history export.")
    if len(data) > max_bytes:
        raise _bad(name, f"larger than {max_bytes} bytes; split the upload.")
    base = name.rsplit("/", 1)[-1]
    if base.startswith("StreamingHistory"):
        raise _bad(name, OLD_EXPORT_REASON)
    try:
        loaded = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(name, f"not valid JSON ({exc}).") from None
    if not isinstance(loaded, list):
        raise _bad(name, "expected a JSON list of streams (Spotify's export format).")
    parsed = ParsedFile(name=name, rows=[])
    for index, raw in enumerate(loaded):
        try:
            row = _parse_row(raw)
        except ValueError as exc:
            raise _bad(name, f"row {index}: {exc}") from None
        if row is None:
            parsed.skipped_episodes += 1
        else:
            parsed.rows.append(row)
    return parsed
