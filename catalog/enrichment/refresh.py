"""Metadata refresh: read each song's Spotify track again and keep what Spotify says now.

Calls: the client's ``tracks()`` chooses the endpoint. In extended mode that is
``GET /tracks?ids=`` for 50 tracks a call (20 calls per 1,000 songs); in development mode, or
once Spotify refused the batch endpoint, one ``GET /tracks/{id}`` a track (1,000 calls). Each
batch is written in its own transaction once its tracks are read (the rows re-read under a
lock, so a review made while the calls waited is not written over), and it sets
``spotify_synced_at``, so a run that is killed keeps what it finished and a second run over
the same rows (now fresh) makes no call at all.

What is written: only fields that do not depend on which recording the song is (the match
decided that): album image, preview URL, popularity, the URI, the ISRC when the song had none
and ``explicit`` when it was unknown. A field Spotify did not send (popularity and the
preview URL are withheld from new apps) keeps its stored value: nothing is blanked. A track
Spotify answers 404 for marks the song ``gone``; the song and its fields are kept. On a song
whose match a person decided, refresh only fills fields that are empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.enrichment.calls import add_calls
from catalog.models import MatchStatus, Song
from catalog.readahead import chunked
from core.parsing import is_spotify_id
from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.client.api import TRACKS_BATCH_SIZE
from spotify_integration.client.app_mode import endpoint_allowed

# In development mode each track is a call of its own: write every 10 so a pause (429) or a
# killed worker loses at most a few calls' work.
SINGLE_CALL_BATCH_SIZE = 10

# The fields refresh may write, in the order of ``Song``.
REFRESH_FIELDS = [
    "isrc",
    "explicit",
    "spotify_uri",
    "album_image_url",
    "popularity",
    "preview_url",
    "match_status",
    "spotify_synced_at",
]


@dataclass
class RefreshReport:
    """What a refresh did. ``calls`` counts every HTTP request sent to Spotify."""

    songs: int = 0  # songs looked at
    refreshed: int = 0  # Spotify returned the track
    changed: int = 0  # of those, songs with a field that changed (besides spotify_synced_at)
    gone: int = 0  # Spotify answered 404: marked gone
    skipped: int = 0  # no usable Spotify id (never called for)
    calls: int = 0
    batches: int = 0
    stopped: bool = False  # on_batch asked to stop
    seconds: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "songs": self.songs,
            "refreshed": self.refreshed,
            "changed": self.changed,
            "gone": self.gone,
            "skipped": self.skipped,
            "spotify_calls": self.calls,
            "calls_by_endpoint": dict(self.by_endpoint),
            "batches": self.batches,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
        }


def refresh_batch_size() -> int:
    """Songs written per batch: one batch call's worth, or a few single calls."""
    return TRACKS_BATCH_SIZE if endpoint_allowed("GET /tracks") else SINGLE_CALL_BATCH_SIZE


def album_image_url(track: dict[str, Any]) -> str | None:
    """The URL of the track's widest album image (None when it has none)."""
    images = (track.get("album") or {}).get("images") or []
    # Spotify lists the widest first; keep the largest there is.
    best = max(images, key=lambda i: i.get("width") or 0, default=None)
    url = best.get("url") if best else None
    return url or None


def track_fields(song: Song, track: dict[str, Any], *, manual: bool) -> list[str]:
    """Copy what ``track`` says onto ``song``; the names of the fields that changed.

    A value Spotify did not send (missing or null) never replaces a stored one; on a song
    whose match a person decided only empty fields are filled.
    """
    changed: list[str] = []

    def put(name: str, value: Any, *, only_if_empty: bool = False) -> None:
        if value is None or value == "":
            return
        current = getattr(song, name)
        if current == value or ((only_if_empty or manual) and current not in (None, "")):
            return
        setattr(song, name, value)
        changed.append(name)

    isrc = (track.get("external_ids") or {}).get("isrc")
    if isinstance(isrc, str) and len(isrc.replace("-", "")) == 12:
        put("isrc", isrc.replace("-", "").upper(), only_if_empty=True)
    if isinstance(track.get("explicit"), bool):
        put("explicit", track["explicit"], only_if_empty=True)
    put("spotify_uri", track.get("uri"))
    put("album_image_url", album_image_url(track))
    popularity = track.get("popularity")
    if isinstance(popularity, int) and 0 <= popularity <= 100:
        put("popularity", popularity)
    put("preview_url", track.get("preview_url"))
    if song.match_status == MatchStatus.GONE:
        song.match_status = MatchStatus.MATCHED  # back on Spotify
        changed.append("match_status")
    return changed


def songs_refresh(
    *,
    song_ids: Iterable[int],
    client: SpotifyClient,
    on_batch: Callable[[RefreshReport], bool | None] | None = None,
    batch_size: int | None = None,
) -> RefreshReport:
    """Refresh the Spotify fields of ``song_ids`` from their tracks (see the module doc).

    ``on_batch(report)`` runs after each committed batch; returning ``False`` stops. A Spotify
    error (a 429 pause, an outage) propagates after the batches before it were committed; the
    report's ``calls`` then lacks the failed batch's calls, which the caller counts by wrapping
    the call in ``count_spotify_calls()`` if it needs them.
    """
    report = RefreshReport()
    started = time.monotonic()
    size = batch_size or refresh_batch_size()
    for ids in chunked(song_ids, size):
        songs = list(Song.objects.filter(pk__in=ids).only("id", "spotify_id").order_by("id"))
        report.songs += len(songs)
        callable_songs = [s for s in songs if is_spotify_id(s.spotify_id)]
        report.skipped += len(songs) - len(callable_songs)
        if not callable_songs:
            continue
        with count_spotify_calls() as calls:
            tracks = client.tracks([s.spotify_id for s in callable_songs if s.spotify_id])
        report.calls += add_calls(report.by_endpoint, calls)
        _write_batch(callable_songs, tracks, report)
        report.batches += 1
        report.seconds = time.monotonic() - started
        if on_batch is not None and on_batch(report) is False:
            report.stopped = True
            break
    report.seconds = time.monotonic() - started
    return report


def _write_batch(
    songs: list[Song], tracks: list[dict[str, Any] | None], report: RefreshReport
) -> None:
    """Write what the tracks say onto the songs, re-read under a row lock: the calls may have
    waited for budget, and a review or an edit made meanwhile must not be written over. A song
    whose Spotify id changed meanwhile is left as it is (counted as skipped)."""
    now = timezone.now()
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in Song.objects.filter(pk__in=[s.pk for s in songs])
            .select_related("match")
            .select_for_update(of=("self",))
        }
        changed: list[Song] = []
        for asked, track in zip(songs, tracks, strict=True):
            song = rows.get(asked.pk)
            if song is None or song.spotify_id != asked.spotify_id:
                report.skipped += 1
                continue
            if track is None:
                # Gone from Spotify: keep the song and every field; say so, and stop asking.
                song.match_status = MatchStatus.GONE
                report.gone += 1
            else:
                manual = bool(getattr(song, "match", None) and song.match.manual)
                if track_fields(song, track, manual=manual):
                    report.changed += 1
                report.refreshed += 1
            song.spotify_synced_at = now
            changed.append(song)
        Song.objects.bulk_update(changed, REFRESH_FIELDS)
