"""Spotify bodies for the enrichment tests, each validated against the vendored OpenAPI spec.

Spotify answers a batch read (``GET /tracks?ids=``, ``GET /audio-features?ids=``) with a null
in the place of an id it has no object for; the vendored description does not model those
nulls (its items are objects), so ``batch_body`` validates the body with the objects only and
then puts the nulls back where Spotify puts them.
"""

from __future__ import annotations

from typing import Any

from tests.spotify_integration.fakes import track_body
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
