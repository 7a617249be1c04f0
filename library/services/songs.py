"""Catalog songs for Spotify tracks met in a user's library, through the catalog's write path.

A track whose Spotify id the catalog already holds is linked as it is: nothing of that song is
written, so a library sync never blanks or overrides what the catalog (or a person) decided.
A track new to the catalog is written by the import's upsert (``song_records_upsert``) from
the track object Spotify returned, as "add from Spotify" does (``track_to_record``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from catalog.enrichment.add import track_to_record
from catalog.models import Song
from catalog.records import RowInvalid, SongRecord
from catalog.services import song_records_upsert
from core.parsing import is_spotify_id

logger = logging.getLogger("encore.library")


def songs_for_tracks(tracks: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Spotify track id -> catalog song id, for every usable track of ``tracks``.

    Idempotent (a second call writes nothing). A track the import's rules refuse (no title,
    say) gets no song; its play or item keeps the track id.
    """
    by_id: dict[str, dict[str, Any]] = {}
    for track in tracks:
        track_id = track.get("id") if isinstance(track, dict) else None
        if isinstance(track_id, str) and is_spotify_id(track_id) and not track.get("is_local"):
            by_id.setdefault(track_id, track)
    if not by_id:
        return {}
    found = songs_known(by_id)
    records: list[SongRecord] = []
    for track_id, track in by_id.items():
        if track_id in found:
            continue
        try:
            records.append(track_to_record(track))
        except RowInvalid as exc:
            logger.info("library: track %s not added to the catalog: %s", track_id, exc)
    if records:
        song_records_upsert(records=records)
        found.update(songs_known(r.spotify_id for r in records if r.spotify_id))
    return found


def songs_known(track_ids: Iterable[str]) -> dict[str, int]:
    """Spotify track id -> catalog song id for the ids the catalog already holds (no write)."""
    ids = list(set(track_ids))
    if not ids:
        return {}
    rows = Song.objects.filter(spotify_id__in=ids).values_list("spotify_id", "pk")
    return {spotify_id: pk for spotify_id, pk in rows if spotify_id}
