"""The JSON of a hybrid search (the API returns it; the search page renders the same dict)."""

from __future__ import annotations

from typing import Any

from catalog.hybrid.merge import HybridHit
from catalog.hybrid.service import HybridResult
from catalog.models import SPOTIFY_TRACK_URL
from catalog.serializers import SongSerializer
from catalog.vocabulary import Term, corrected


def _year(release: str) -> int | None:
    return int(release[:4]) if release[:4].isdigit() else None


def spotify_song_data(track: dict[str, Any]) -> dict[str, Any]:
    """A Spotify track in the shape of a catalog song (SongSerializer), with ``id: null``: it
    is not in the catalog, and neither are its artists and album."""
    album = track.get("album") or {}
    artists = [
        {"id": None, "name": a.get("name") or "", "spotify_id": a.get("id")}
        for a in track.get("artists") or []
    ]
    images = album.get("images") or []
    release = str(album.get("release_date") or "")
    track_id = track["id"]
    return {
        "id": None,
        "title": track.get("name") or "",
        "artists": artists,
        "artist_names": ", ".join(a["name"] for a in artists),
        "album": None
        if not album
        else {"id": None, "title": album.get("name") or "", "spotify_id": album.get("id")},
        "duration_ms": track.get("duration_ms"),
        "isrc": ((track.get("external_ids") or {}).get("isrc") or "").upper() or None,
        "release_date": release or None,
        "release_year": _year(release),
        "explicit": bool(track.get("explicit")),
        "spotify": {
            "id": track_id,
            "uri": track.get("uri") or f"spotify:track:{track_id}",
            "album_image_url": images[0]["url"] if images else None,
            "popularity": track.get("popularity"),
            "preview_url": track.get("preview_url"),
            "audio_features": None,
            "synced_at": None,
            # Built from the id, never Spotify's external_urls: the page puts it in an href
            # and navigates to it, so a "javascript:" URL there would run in Encore's origin.
            "url": f"{SPOTIFY_TRACK_URL}{track_id}",
            "gone": False,
        },
        "match_status": None,
        "match_confidence": None,
        "created_at": None,
        "updated_at": None,
    }


def _hit_data(hit: HybridHit, serializer: SongSerializer) -> dict[str, Any]:
    if hit.data is not None:
        song = hit.data
    elif hit.song is not None:
        song = serializer.to_representation(hit.song)
    else:
        assert hit.track is not None
        song = spotify_song_data(hit.track)
    return {"score": hit.score, "source": hit.source, "in_catalog": hit.in_catalog, "song": song}


def _term_data(term: Term) -> dict[str, Any]:
    """A term as TermSerializer documents it, built directly: a serializer instance a term
    costs a deep copy of its fields, over a millisecond a search (bench/search.py)."""
    return {
        "term": term.text,
        "corrections": list(term.corrections),
        "completions": None if term.completions is None else term.completions[:10],
        "relaxed": term.relaxed,
    }


def hybrid_response_data(result: HybridResult) -> dict[str, Any]:
    """The body of ``GET /api/songs/search/`` (SearchResponseSerializer documents it)."""
    local = result.local
    serializer = SongSerializer()
    return {
        "query": {
            "q": result.query,
            "normalized": local.normalized,
            "corrected": corrected(local.terms) if local.terms else local.normalized,
            "relaxed": local.relaxed,
            "terms": [_term_data(t) for t in local.terms],
            "filters": result.filters.as_dict(),
        },
        "total": result.total,
        "total_is_exact": local.total_is_exact,
        "has_more": result.has_more,
        "limit": result.limit,
        "offset": result.offset,
        "took_ms": result.took_ms,
        "results": [_hit_data(hit, serializer) for hit in result.hits],
        "sources": {
            "local": {"took_ms": local.took_ms, "total": local.total, "cached": local.cached},
            "spotify": {
                "status": result.spotify.status,
                "took_ms": result.spotify.took_ms,
                "hits": result.spotify.hits,
            },
        },
    }


def server_timing(result: HybridResult) -> str:
    """The ``Server-Timing`` header: each stage's milliseconds, Spotify's with its status."""
    t = result.timings
    return ", ".join(
        [
            f"local;dur={t['local']}",
            f'spotify;dur={t["spotify"]};desc="{result.spotify.status}"',
            f"merge;dur={t['merge']}",
            f"total;dur={t['total']}",
        ]
    )
