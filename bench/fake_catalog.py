"""The catalog a fake Spotify serves: spec-shaped track objects and Spotify-like track search.

Stdlib only (the fake plays an outside system, so it knows nothing of Encore). ``track_object``
builds a TrackObject that validates against the vendored OpenAPI description;
``TrackIndex.search`` answers a ``GET /search?type=track`` query the way Spotify roughly does:
field filters (``isrc:``, ``track:``, ``artist:``, ``album:``, ``year:``) must match, every free
word must appear somewhere in the track, accents and case do not matter, and results are ranked
by popularity.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WEB = "https://api.spotify.com/v1"
OPEN = "https://open.spotify.com"
_WORD = re.compile(r"\w+")
# key:"quoted value", key:value, "quoted free words", or a free word
_TERM = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')
FILTERS = ("isrc", "track", "artist", "album", "year")
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d",
                       "þ": "th", "ı": "i"})  # fmt: skip


def spotify_id(seed: str) -> str:
    """A deterministic 22-character base-62 id for ``seed``."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(BASE62[rest])
    return "".join(chars)


def words(text: str) -> list[str]:
    """Case- and accent-insensitive words, as Spotify's search treats them."""
    # Apostrophes join ("don't" finds "dont"), and letters without a decomposition fold as
    # people type them ("lza" finds "Łza"), as in Spotify's search.
    folded = unicodedata.normalize("NFKD", re.sub("['’`´]", "", text.casefold()).translate(_FOLD))
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


def _artist(name: str, artist_id: str | None = None) -> dict[str, Any]:
    aid = artist_id or spotify_id(f"artist:{name}")
    return {
        "id": aid,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{aid}",
        "href": f"{WEB}/artists/{aid}",
        "external_urls": {"spotify": f"{OPEN}/artist/{aid}"},
    }


def track_object(
    *,
    name: str,
    artists: Iterable[str | tuple[str, str]],
    album: str,
    duration_ms: int,
    isrc: str | None = None,
    release_date: str = "2000",
    track_id: str | None = None,
    album_id: str | None = None,
    popularity: int | None = 50,
    preview_url: str | None = None,
    track_number: int = 1,
) -> dict[str, Any]:
    """A TrackObject as Spotify sends it in 2026 (popularity and preview may be missing).

    ``artists`` are names, or ``(spotify_id, name)`` pairs; ids default to ones derived from
    the names, so one artist has one id across the catalog.
    """
    artist_objects = [
        _artist(a) if isinstance(a, str) else _artist(a[1], artist_id=a[0]) for a in artists
    ]
    tid = track_id or spotify_id(f"track:{name}:{album}:{isrc}:{duration_ms}")
    alb = album_id or spotify_id(f"album:{album}:{artist_objects[0]['name']}:{release_date}")
    precision = {4: "year", 7: "month"}.get(len(release_date), "day")
    body: dict[str, Any] = {
        "id": tid,
        "name": name,
        "type": "track",
        "uri": f"spotify:track:{tid}",
        "href": f"{WEB}/tracks/{tid}",
        "duration_ms": duration_ms,
        "explicit": False,
        "disc_number": 1,
        "track_number": track_number,
        "is_local": False,
        "external_ids": {"isrc": isrc} if isrc else {},
        "external_urls": {"spotify": f"{OPEN}/track/{tid}"},
        "artists": artist_objects,
        "album": {
            "id": alb,
            "name": album,
            "type": "album",
            "album_type": "album",
            "total_tracks": max(track_number, 10),
            "available_markets": [],
            "uri": f"spotify:album:{alb}",
            "href": f"{WEB}/albums/{alb}",
            "external_urls": {"spotify": f"{OPEN}/album/{alb}"},
            "images": [
                {"url": f"https://i.scdn.co/image/{alb}-640", "height": 640, "width": 640},
                {"url": f"https://i.scdn.co/image/{alb}-300", "height": 300, "width": 300},
            ],
            "release_date": release_date,
            "release_date_precision": precision,
            "artists": artist_objects[:1],
        },
    }
    if popularity is not None:
        body["popularity"] = popularity
    if preview_url is not None:
        body["preview_url"] = preview_url
    return body


def audio_features_object(track: dict[str, Any]) -> dict[str, Any]:
    """Deterministic audio features for ``track`` (derived from its id)."""
    seed = hashlib.sha256(track["id"].encode()).digest()
    tid = track["id"]
    return {
        "id": tid,
        "type": "audio_features",
        "uri": track["uri"],
        "track_href": f"{WEB}/tracks/{tid}",
        "analysis_url": f"{WEB}/audio-analysis/{tid}",
        "duration_ms": track["duration_ms"],
        "acousticness": seed[0] / 255,
        "danceability": seed[1] / 255,
        "energy": seed[2] / 255,
        "instrumentalness": seed[3] / 255,
        "liveness": seed[4] / 255,
        "speechiness": seed[5] / 255,
        "valence": seed[6] / 255,
        "loudness": -60 + seed[7] * 60 / 255,
        "tempo": 60 + seed[8] * 140 / 255,
        "key": seed[9] % 12,
        "mode": seed[10] % 2,
        "time_signature": 3 + seed[11] % 5,
    }


def parse_query(q: str) -> tuple[dict[str, list[str]], list[str]]:
    """``q`` as (field filters: field -> words, free words). Unknown ``key:`` are free words."""
    filters: dict[str, list[str]] = {}
    free: list[str] = []
    for key, quoted, bare in _TERM.findall(q):
        value = quoted if quoted or not bare else bare
        field = key.casefold()
        if field in FILTERS:
            filters.setdefault(field, []).extend(words(value))
        else:
            free.extend(words(f"{key} {value}" if key else value))
    return filters, free


class TrackIndex:
    """Tracks by id and by ISRC, with their searchable words."""

    def __init__(self, tracks: Iterable[dict[str, Any]] = ()) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self._fields: dict[str, dict[str, set[str]]] = {}
        for track in tracks:
            self.add(track)

    def add(self, track: dict[str, Any]) -> None:
        self.by_id[track["id"]] = track
        artist_words = set()
        for artist in track["artists"]:
            artist_words |= set(words(artist["name"]))
        self._fields[track["id"]] = {
            "track": set(words(track["name"])),
            "artist": artist_words,
            "album": set(words(track["album"]["name"])),
            "year": {track["album"]["release_date"][:4]},
            "isrc": {(track.get("external_ids") or {}).get("isrc", "").casefold()},
        }

    def remove(self, track_id: str) -> None:
        self.by_id.pop(track_id, None)
        self._fields.pop(track_id, None)

    def _matches(self, fields: dict[str, set[str]], filters: dict[str, list[str]],
                 free: list[str]) -> bool:  # fmt: skip
        for field, wanted in filters.items():
            if not set(wanted) <= fields[field]:
                return False
        everything = fields["track"] | fields["artist"] | fields["album"]
        return set(free) <= everything

    def search(self, q: str) -> list[dict[str, Any]]:
        """Every track the query finds, most popular first (ties: title, then id)."""
        filters, free = parse_query(q)
        if not filters and not free:
            return []
        found = [
            self.by_id[tid]
            for tid, fields in self._fields.items()
            if self._matches(fields, filters, free)
        ]
        found.sort(key=lambda t: (-(t.get("popularity") or 0), t["name"], t["id"]))
        return found
