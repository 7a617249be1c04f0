"""Preparing rows for the writers: what writing a record needs, worked out ahead.

``prepare`` runs on the import's reader thread (catalog.readahead), so that the thread that
talks to the database spends its time there: a record's own identity keys, its search text
and, for PostgreSQL, its staging row as COPY text. ``merge`` makes one prepared record of two
lines that turn out to be the same song.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from catalog.identity import meta_key
from catalog.models import Album, artist_key
from catalog.normalize import normalize, searchable_artists
from catalog.records import SongRecord

AlbumRef = tuple[str, str, str]  # an album's key, title and main artist


@dataclass(slots=True)
class PreparedRecord:
    """A record with what writing it needs: see the module docstring."""

    record: SongRecord
    own_key: str
    fallback_key: str
    artist_names: str  # joined for display
    search_text: tuple[str, str, str]  # title_norm, artists_norm, album_norm
    album: AlbumRef | None  # the song's album
    copy_tail: str | None  # the postgres.STAGE_COLUMNS after seq .. is_song, as COPY text


_OWN_ALBUM: Any = object()


def album_key(record: SongRecord) -> str:
    return Album.key_for(record.album or "", record.main_artist)


def prepare(record: SongRecord, *, copy_text: bool, album: Any = _OWN_ALBUM) -> PreparedRecord:
    """``album``: (key, title, main artist) of the album the song keeps when it is not the
    record's own (``merge``), or None for none."""
    title_norm, main_artist_norm = normalize(record.title), normalize(record.main_artist)
    album_norm = normalize(record.album)
    artist_names = ", ".join(record.artists)[:2000]
    artists_norm = searchable_artists(artist_names)[:2000]
    fallback = meta_key(title_norm, main_artist_norm, album_norm)
    if album is _OWN_ALBUM:
        album = None
        if record.album:
            album = (album_key(record), record.album, record.main_artist[:500])
    elif album is not None:
        album_norm = normalize(album[1])
    else:
        album_norm = ""
    search_text = (title_norm[:500], artists_norm, album_norm[:500])
    tail = None
    if copy_text:
        tail = "\t".join(
            [
                *map(copy_field, [
                    record.title, artist_names, record.duration_ms, record.isrc,
                    record.release_date, record.release_date_precision, record.release_year,
                    record.explicit, record.spotify_id, record.spotify_uri,
                    record.album_image_url, record.popularity, record.preview_url,
                    *search_text, *(album or (None, None, None)),
                ]),
                copy_array(record.artists),
                copy_array([artist_key(name) for name in record.artists]),
            ]
        )  # fmt: skip
    return PreparedRecord(
        record=record,
        own_key=record.identity_key() if record.spotify_id or record.isrc else fallback,
        fallback_key=fallback,
        artist_names=artist_names,
        search_text=search_text,
        album=album,
        copy_tail=tail,
    )


def prepared(record: SongRecord | PreparedRecord, *, copy_text: bool) -> PreparedRecord:
    """The record prepared for the writer at hand (reusing the preparation when it fits)."""
    if isinstance(record, PreparedRecord):
        if record.copy_tail is not None or not copy_text:
            return record
        record = record.record
    return prepare(record, copy_text=copy_text)


def merge(earlier: PreparedRecord, later: PreparedRecord, *, copy_text: bool) -> PreparedRecord:
    """One record from two lines for the same song, written as if the lines went in one after
    the other: the later line's values win, the earlier one's fill what the later leaves
    empty, and without an album of its own the song keeps the earlier line's album (keyed by
    that line's main artist, as the stored album would be), whatever the batch size."""
    merged = copy.copy(later.record)
    for name in SongRecord.__slots__:
        value = getattr(earlier.record, name)
        if getattr(merged, name) in (None, [], "") and value not in (None, []):
            setattr(merged, name, value)
    album = later.album if later.record.album else earlier.album
    return prepare(merged, copy_text=copy_text, album=album)


def copy_field(value: object) -> str:
    """One field in COPY's text format (records hold text, numbers, booleans and dates)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = value.replace("\\", "\\\\").replace("\t", "\\t")
            return value.replace("\n", "\\n").replace("\r", "\\r")
        return value
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def copy_array(values: list[str]) -> str:
    """A text[] field in COPY's text format: an array literal with every element quoted."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return copy_field("{" + ",".join(quoted) + "}")
