"""The song record that imports, exports and the demo catalog exchange, and its parsing.

A record is what one line of an import file says about a song. ``parse_record`` turns the raw
field mapping of a CSV row or a JSON Lines object into a validated ``SongRecord`` or raises
``RowInvalid`` with a reason a person can act on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from catalog.identity import identity_key_for
from core.parsing import is_spotify_id, is_spotify_uri, parse_bool, parse_isrc

# Columns of the import/export formats, in export order.
COLUMNS = [
    "title",
    "artists",
    "album",
    "duration_ms",
    "isrc",
    "release_date",
    "explicit",
    "spotify_id",
    "spotify_uri",
    "album_image_url",
    "popularity",
    "preview_url",
]
# Also accepted on import: `duration` ("3:45", "1:02:03" or seconds) and `year`.
ACCEPTED_COLUMNS = {*COLUMNS, "duration", "year"}
ARTIST_SEPARATOR = ";"

MAX_ARTISTS = 100
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
MAX_TITLE = 500
MAX_DURATION_MS = 24 * 60 * 60 * 1000


class RowInvalid(ValueError):
    """A row that cannot be imported; the message is the reason shown to the user."""


@dataclass(slots=True)
class SongRecord:
    title: str
    artists: list[str] = field(default_factory=list)
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    release_date: date | None = None
    release_date_precision: str | None = None
    release_year: int | None = None
    explicit: bool | None = None
    spotify_id: str | None = None
    spotify_uri: str | None = None
    album_image_url: str | None = None
    popularity: int | None = None
    preview_url: str | None = None

    @property
    def main_artist(self) -> str:
        return self.artists[0] if self.artists else ""

    def identity_key(self) -> str:
        return identity_key_for(
            spotify_id=self.spotify_id, isrc=self.isrc, title=self.title,
            main_artist=self.main_artist, album=self.album or "",
        )  # fmt: skip

    def release_date_text(self) -> str:
        return release_date_text(self.release_date, self.release_date_precision) or ""


def release_date_text(value: date | None, precision: str | None) -> str | None:
    """A release date as precise as its source said: "1975", "1975-10" or "1975-10-31"."""
    if value is None:
        return None
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return value.strftime("%Y-%m")
    return value.isoformat()


def duration_text(ms: int) -> str:
    """A duration in milliseconds as people read it, m:ss to the nearest second (``354000`` is
    "5:54"; a negative one, a difference, gets a minus sign)."""
    sign = "-" if ms < 0 else ""
    seconds = round(abs(ms) / 1000)
    return f"{sign}{seconds // 60}:{seconds % 60:02d}"


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, bool | int | float):
            value = str(value)
        else:
            raise RowInvalid(f"{key}: expected text, got {type(value).__name__}")
    value = value.strip()
    return value or None


def parse_duration(value: Any) -> int | None:
    """Milliseconds from ms (``duration_ms``) or a clock text ("3:45", "1:02:03")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowInvalid("duration: not a number")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise RowInvalid("duration: not a finite number")
        ms = int(value)
    else:
        text = str(value).strip()
        if ":" in text:
            parts = text.split(":")
            if len(parts) > 3 or not all(p.isdecimal() and p.isascii() for p in parts):
                raise RowInvalid(f"duration: cannot read {text!r}")
            seconds = 0
            for part in parts:
                seconds = seconds * 60 + int(part)
            ms = seconds * 1000
        else:
            try:
                number = float(text)
            except ValueError:
                raise RowInvalid(f"duration: cannot read {text!r}") from None
            if not math.isfinite(number):
                raise RowInvalid(f"duration: cannot read {text!r}")
            ms = int(number)
    if ms <= 0 or ms > MAX_DURATION_MS:
        raise RowInvalid(f"duration: {ms} ms is out of range")
    return ms


def parse_release_date(value: str | None) -> tuple[date | None, str | None, int | None]:
    if not value:
        return None, None, None
    match = _DATE.match(value)
    if not match:
        raise RowInvalid(f"release_date: cannot read {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    try:
        parsed = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise RowInvalid(f"release_date: {value!r} is not a date") from None
    if not 1000 <= parsed.year <= 2100:
        raise RowInvalid(f"release_date: year {parsed.year} is out of range")
    precision = "day" if day else "month" if month else "year"
    return parsed, precision, parsed.year


def _artists(value: Any) -> list[str]:
    if value is None:
        return []
    names: list[str] | None
    if isinstance(value, list):
        if not all(isinstance(a, str) for a in value):
            raise RowInvalid("artists: expected a list of names")
        names = value
    elif isinstance(value, str):
        names = _json_names(value)
        if names is None:
            names = value.split(ARTIST_SEPARATOR)
        else:
            # A JSON list's escapes ("\u0000") became characters only now: check them.
            problem = next(filter(None, map(_bad_text, names)), None)
            if problem:
                raise RowInvalid(f"artists: {problem}")
    else:
        raise RowInvalid("artists: expected text or a list of names")
    cleaned = [n.strip() for n in names if n and n.strip()]
    if len(cleaned) > MAX_ARTISTS:
        raise RowInvalid(f"artists: more than {MAX_ARTISTS}")
    if any(len(n) > 500 for n in cleaned):
        raise RowInvalid("artists: a name is longer than 500 characters")
    # A song lists an artist once, in the position they first appear.
    return list(dict.fromkeys(cleaned))


def _json_names(value: str) -> list[str] | None:
    """A CSV ``artists`` cell written as a JSON list, as export writes one whose names hold
    the separator (``["Earth; Wind", "Fire"]``); None if the cell is not such a list."""
    if not value.lstrip().startswith("["):
        return None
    try:
        names = json.loads(value)
    except ValueError:
        return None
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        return names
    return None


def artists_cell(names: list[str]) -> str:
    """The CSV ``artists`` cell for these names: ``A; B``, or a JSON list when a name holds
    the separator or could be read as one (starts with ``[``)."""
    if any(ARTIST_SEPARATOR in n for n in names) or (names and names[0].lstrip().startswith("[")):
        return json.dumps(names, ensure_ascii=False)
    return f"{ARTIST_SEPARATOR} ".join(names)


def _bad_text(text: str) -> str | None:
    """What is wrong with text no column may hold: a NUL byte, or what is not UTF-8 (bytes
    the reader replaced with U+FFFD, or lone surrogates a JSON escape can produce)."""
    if "\x00" in text:
        return "contains a NUL byte"
    if "\ufffd" in text:
        return "is not valid UTF-8"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid UTF-8"
    return None


def _has_bad_chars(raw: dict[str, Any]) -> str | None:
    # Fast path: one scan of all the text for the rare row that has a bad character.
    text = "".join(v if isinstance(v, str) else "" for v in raw.values())
    if _bad_text(text) is None and not any(isinstance(v, list) for v in raw.values()):
        return None
    for key, value in raw.items():
        for v in value if isinstance(value, list) else [value]:
            problem = _bad_text(v) if isinstance(v, str) else None
            if problem:
                return f"{key}: {problem}"
    return None


def parse_record(raw: dict[str, Any]) -> SongRecord:
    """Validate one row. Raises ``RowInvalid`` naming the column and the problem."""
    bad = _has_bad_chars(raw)
    if bad:
        raise RowInvalid(bad)
    title = _text(raw, "title")
    if not title:
        raise RowInvalid("title: missing")
    if len(title) > MAX_TITLE:
        raise RowInvalid(f"title: longer than {MAX_TITLE} characters")
    album = _text(raw, "album")
    if album and len(album) > 500:
        raise RowInvalid("album: longer than 500 characters")

    duration_raw = raw.get("duration_ms")
    if duration_raw in (None, ""):
        duration_ms = parse_duration(raw.get("duration"))
    else:
        if isinstance(duration_raw, str) and not (
            duration_raw.strip().isdecimal() and duration_raw.strip().isascii()
        ):
            raise RowInvalid(f"duration_ms: cannot read {duration_raw!r}")
        duration_ms = parse_duration(duration_raw)

    isrc = _text(raw, "isrc")
    if isrc:
        try:
            isrc = parse_isrc(isrc)
        except ValueError:
            raise RowInvalid(f"isrc: {raw.get('isrc')!r} is not a valid ISRC") from None

    release_date, precision, year = parse_release_date(
        _text(raw, "release_date") or _text(raw, "year")
    )

    explicit_raw = raw.get("explicit")
    try:
        explicit = parse_bool(explicit_raw)  # blank: the file does not say (None)
    except ValueError:
        raise RowInvalid(f"explicit: {explicit_raw!r} is not true or false") from None

    spotify_id = _text(raw, "spotify_id")
    if spotify_id and not is_spotify_id(spotify_id):
        raise RowInvalid(f"spotify_id: {spotify_id!r} is not a Spotify id (22 letters/digits)")
    spotify_uri = _text(raw, "spotify_uri")
    if spotify_uri and not is_spotify_uri(spotify_uri, kind="track"):
        raise RowInvalid("spotify_uri: not a track URI (spotify:track:<22 letters/digits>)")

    popularity_raw = _text(raw, "popularity")
    popularity = None
    if popularity_raw is not None:
        if (
            not (popularity_raw.isdecimal() and popularity_raw.isascii())
            or int(popularity_raw) > 100
        ):
            raise RowInvalid(f"popularity: {popularity_raw!r} is not a whole number 0-100")
        popularity = int(popularity_raw)

    urls = {}
    for key in ("album_image_url", "preview_url"):
        value = _text(raw, key)
        if value and not value.startswith(("https://", "http://")):
            raise RowInvalid(f"{key}: not an http(s) URL")
        if value and len(value) > 1000:
            raise RowInvalid(f"{key}: longer than 1000 characters")
        urls[key] = value

    return SongRecord(
        title=title,
        artists=_artists(raw.get("artists")),
        album=album,
        duration_ms=duration_ms,
        isrc=isrc,
        release_date=release_date,
        release_date_precision=precision,
        release_year=year,
        explicit=explicit,
        spotify_id=spotify_id,
        spotify_uri=spotify_uri,
        album_image_url=urls["album_image_url"],
        popularity=popularity,
        preview_url=urls["preview_url"],
    )


def record_to_row(record: SongRecord) -> dict[str, Any]:
    """The export form of a record: the same columns the importer reads."""
    return {
        "title": record.title,
        "artists": record.artists,
        "album": record.album,
        "duration_ms": record.duration_ms,
        "isrc": record.isrc,
        "release_date": record.release_date_text() or None,
        "explicit": record.explicit,
        "spotify_id": record.spotify_id,
        "spotify_uri": record.spotify_uri,
        "album_image_url": record.album_image_url,
        "popularity": record.popularity,
        "preview_url": record.preview_url,
    }
