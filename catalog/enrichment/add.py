"""Add a Spotify track to the catalog: what staff do with a Spotify-only search result.

``song_add_from_spotify`` reads the track (hybrid search's cache of the tracks it showed, else
the app's client on the interactive lane: a person is waiting), writes it through the
import's upsert (so the song, its album and artists are the rows an import of the same track
would make) and records the decision as a manual match by that person. It is idempotent: a
song that already carries the Spotify id is returned as it is, without asking Spotify.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction

from catalog.enrichment.match import (
    _link_album,
    _link_artist,
    _record,
    _songs_for_matching,
    _username,
)
from catalog.enrichment.matching import MATCHED, Candidate
from catalog.enrichment.refresh import album_image_url
from catalog.hybrid import cached_track
from catalog.models import Song
from catalog.records import RowInvalid, SongRecord, parse_record
from catalog.services import song_records_upsert
from core.exceptions import ValidationFailed
from core.parsing import is_spotify_id
from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import SpotifyError
from spotify_integration.lanes import Lane

if TYPE_CHECKING:
    from catalog.enrichment.match import Reviewer

logger = logging.getLogger("encore.enrichment")

INVALID_ID = "spotify_id: not a Spotify track id (22 letters and digits)"


class SpotifyTrackUnusable(SpotifyError):
    """Spotify's track lacks what a song needs (a title) or holds what no column may."""

    code = "spotify_track_unusable"
    default_message = "Spotify's track cannot be stored as a song."


def track_to_record(track: dict[str, Any]) -> SongRecord:
    """The import record of a Spotify track object (full or simplified album), validated by
    the import's own rules. Raises ``RowInvalid`` naming the field."""
    album = track.get("album") or {}
    raw: dict[str, Any] = {
        "title": track.get("name"),
        "artists": [a.get("name") or "" for a in track.get("artists") or []],
        "album": album.get("name"),
        "duration_ms": track.get("duration_ms"),
        "isrc": (track.get("external_ids") or {}).get("isrc"),
        "release_date": album.get("release_date"),
        "explicit": track.get("explicit"),
        "spotify_id": track.get("id"),
        "spotify_uri": track.get("uri"),
        "album_image_url": album_image_url(track),
        "popularity": track.get("popularity"),
        "preview_url": track.get("preview_url"),
    }
    return parse_record({k: v for k, v in raw.items() if v is not None})


def song_add_from_spotify(
    *, spotify_id: str, user: Reviewer, client: SpotifyClient | None = None
) -> tuple[Song, bool]:
    """The song for Spotify track ``spotify_id``, and whether it was created now.

    A song already holding the id is returned unchanged (no Spotify call). Otherwise the track
    (from hybrid search's cache when a search returned it lately, else from Spotify) is
    upserted; the song's match becomes ``matched``, decided by ``user`` by hand
    (so automatic runs leave it alone). Raises ``ValidationFailed`` for a malformed id and the
    client's errors as they are (``SpotifyNotFound``, ``SpotifyNotConfigured``,
    ``SpotifyRateLimited``, ``SpotifyUnavailable`` ...).
    """
    if not is_spotify_id(spotify_id):
        raise ValidationFailed(INVALID_ID, detail={"spotify_id": spotify_id})
    existing = Song.objects.filter(spotify_id=spotify_id).first()
    if existing is not None:
        return existing, False
    # A Spotify-only search result was just shown: its track is in the cache, no call needed.
    track = cached_track(spotify_id)
    if track is None:
        client = client or SpotifyClient.for_app(lane=Lane.INTERACTIVE)
        track = client.track(spotify_id)  # outside the transaction: it may wait on the budget
    try:
        record = track_to_record(track)
    except RowInvalid as exc:
        raise SpotifyTrackUnusable(detail={"spotify_id": spotify_id, "reason": str(exc)}) from exc
    candidate = Candidate.from_track(track)
    with transaction.atomic():
        report = song_records_upsert(records=[record])
        song = (
            _songs_for_matching().select_for_update(of=("self",)).get(spotify_id=record.spotify_id)
        )
        evidence: dict[str, Any] = {
            "status": MATCHED,
            "candidates": [candidate.as_dict()],
            "decision": {"added_from_spotify": record.spotify_id, "by": _username(user)},
        }
        _record(song, status=MATCHED, confidence=1.0, evidence=evidence, manual=True, user=user)
        _link_artist(song, candidate)
        _link_album(song, candidate)
    created = report.created > 0
    logger.info(
        "song added from spotify",
        extra={"song_id": song.pk, "spotify_id": record.spotify_id, "song_created": created},
    )
    song.refresh_from_db()
    return song, created
