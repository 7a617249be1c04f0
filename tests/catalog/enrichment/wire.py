"""Spotify bodies for the enrichment tests, each validated against the vendored OpenAPI spec.

Spotify answers a batch read (``GET /tracks?ids=``, ``GET /audio-features?ids=``) with a null
in the place of an id it has no object for; the vendored description does not model those
nulls (its items are objects), so ``batch_body`` validates the body with the objects only and
then puts the nulls back where Spotify puts them.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import responses

from catalog.models import Song
from tests.spotify_integration.fakes import API, error_body, track_body
from tests.spotify_integration.openapi import validate_response


def spotify_id(n: int) -> str:
    """A well-formed 22-character track id, distinct per ``n``."""
    return f"{n:022d}".replace("0", "A")[:22]


def full_track(
    track_id: str,
    *,
    isrc: str = "GBUM71029604",
    popularity: int | None = 55,
    preview_url: str | None = "https://p.scdn.co/mp3-preview/abc",
    image: str = "https://i.scdn.co/image/large",
    explicit: bool = False,
) -> dict[str, Any]:
    """A track as extended mode sends it; ``None`` leaves a field out, as Spotify now does for
    development-mode apps."""
    body = track_body(track_id)
    body["external_ids"] = {"isrc": isrc}
    body["explicit"] = explicit
    if popularity is not None:
        body["popularity"] = popularity
    if preview_url is not None:
        body["preview_url"] = preview_url
    body["album"] = {
        "album_type": "album",
        "total_tracks": 12,
        "available_markets": [],
        "external_urls": {"spotify": "https://open.spotify.com/album/6i6folBtxKV28WX3msQ4FE"},
        "href": "https://api.spotify.com/v1/albums/6i6folBtxKV28WX3msQ4FE",
        "id": "6i6folBtxKV28WX3msQ4FE",
        "images": [
            {"url": "https://i.scdn.co/image/small", "height": 64, "width": 64},
            {"url": image, "height": 640, "width": 640},
        ],
        "name": "A Night at the Opera",
        "release_date": "1975-11-21",
        "release_date_precision": "day",
        "type": "album",
        "uri": "spotify:album:6i6folBtxKV28WX3msQ4FE",
        "artists": track_body(track_id)["artists"],
    }
    validate_response("/tracks/{id}", "get", 200, body)
    return body


def features(track_id: str, tempo: float = 120.0) -> dict[str, Any]:
    return {
        "acousticness": 0.2,
        "analysis_url": f"https://api.spotify.com/v1/audio-analysis/{track_id}",
        "danceability": 0.5,
        "duration_ms": 354320,
        "energy": 0.4,
        "id": track_id,
        "instrumentalness": 0.0,
        "key": 10,
        "liveness": 0.2,
        "loudness": -9.9,
        "mode": 0,
        "speechiness": 0.05,
        "tempo": tempo,
        "time_signature": 4,
        "track_href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "type": "audio_features",
        "uri": f"spotify:track:{track_id}",
        "valence": 0.2,
    }


def batch_body(path: str, key: str, items: list[dict[str, Any] | None]) -> dict[str, Any]:
    """``{key: items}`` for a batch endpoint, validated (see the module doc for the nulls)."""
    validate_response(path, "get", 200, {key: [i for i in items if i is not None]})
    return {key: items}


def stale_songs(n: int, **fields: Any) -> list[Song]:
    """``n`` songs with Spotify ids, never synced (in one statement: a thousand are cheap)."""
    songs = [
        Song(title=f"Song {i}", spotify_id=spotify_id(i + 1), identity_key=f"t:{i}", **fields)
        for i in range(n)
    ]
    return Song.objects.bulk_create(songs)


def serve_tracks(spotify: Any, *, missing: set[str] = frozenset(), **track: Any) -> None:
    """Answer both track endpoints for any id: the batch with one track (or null) per id,
    the single read with the track or a 404. The body is validated once per shape (the
    bodies differ only in their ids)."""
    template = full_track("AAAAAAAAAAAAAAAAAAAAAA", **track)
    batch_body("/tracks", "tracks", [template])
    error = error_body(404, "Non existing id")

    def one(track_id: str) -> dict[str, Any] | None:
        if track_id in missing:
            return None
        body = copy.deepcopy(template)
        body.update(id=track_id, uri=f"spotify:track:{track_id}")
        return body

    def batch(request: Any) -> tuple[int, dict[str, str], str]:
        ids = request.params["ids"].split(",")
        return 200, {}, json.dumps({"tracks": [one(i) for i in ids]})

    def single(request: Any) -> tuple[int, dict[str, str], str]:
        body = one(request.path_url.rsplit("/", 1)[-1])
        return (200, {}, json.dumps(body)) if body else (404, {}, json.dumps(error))

    spotify.token()
    spotify.rsps.add_callback(responses.GET, re.compile(re.escape(API) + r"tracks\?"), batch)
    spotify.rsps.add_callback(responses.GET, re.compile(re.escape(API) + r"tracks/\w+$"), single)


def serve_features(spotify: Any, *, none_for: set[str] = frozenset()) -> None:
    """``GET /audio-features?ids=``: features per id, a null for ``none_for``."""
    batch_body("/audio-features", "audio_features", [features(spotify_id(1))])

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        ids = request.params["ids"].split(",")
        items = [None if i in none_for else features(i, tempo=100.0) for i in ids]
        return 200, {}, json.dumps(batch_body("/audio-features", "audio_features", items))

    spotify.token()
    spotify.rsps.add_callback(
        responses.GET, re.compile(re.escape(API) + r"audio-features\?"), answer
    )
