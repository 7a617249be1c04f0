"""Audio features (tempo, key, energy, ...) from ``GET /audio-features?ids=``, 100 tracks a call.

Only extended-quota apps that had the endpoint before November 2024 still get it. In
development mode the client refuses it without calling, so a run ends at once with that reason
and 0 calls. An extended-mode app that Spotify answers 403 remembers the refusal (the client
does, for a day, in every process); the run stops there with the reason, keeping the batches
written before.

Each batch is written in its own transaction with ``audio_features_synced_at``; a track
Spotify has no features for (a null in the answer) is remembered the same way, with its
stored features (if any) kept, so a second run over the same rows makes no call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.enrichment.calls import add_calls
from catalog.models import Song
from core.parsing import is_spotify_id
from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.client.api import AUDIO_FEATURES_BATCH_SIZE
from spotify_integration.client.app_mode import endpoint_allowed
from spotify_integration.exceptions import SpotifyForbiddenByAppMode

ENDPOINT = "GET /audio-features"
NOT_IN_DEVELOPMENT_MODE = (
    "Audio features are not available to development-mode apps (Spotify removed the endpoint "
    "for them in November 2024); nothing was asked."
)
REFUSED_TO_THIS_APP = (
    "Spotify refused audio features to this app (403); the refusal is remembered for a day "
    "and the endpoint is not asked again until then."
)

# What a song keeps of Spotify's audio features object (the ids and URLs are left out).
FEATURE_KEYS = (
    "acousticness",
    "danceability",
    "duration_ms",
    "energy",
    "instrumentalness",
    "key",
    "liveness",
    "loudness",
    "mode",
    "speechiness",
    "tempo",
    "time_signature",
    "valence",
)


@dataclass
class AudioFeaturesReport:
    songs: int = 0
    stored: int = 0  # features written
    none: int = 0  # Spotify has none for the track: remembered as asked
    skipped: int = 0  # no usable Spotify id
    calls: int = 0
    batches: int = 0
    stopped: bool = False  # on_batch asked to stop
    unavailable: str = ""  # why the endpoint cannot be used (then the run ended there)
    seconds: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "songs": self.songs,
            "stored": self.stored,
            "none": self.none,
            "skipped": self.skipped,
            "spotify_calls": self.calls,
            "calls_by_endpoint": dict(self.by_endpoint),
            "batches": self.batches,
            "stopped": self.stopped,
            "unavailable": self.unavailable,
            "seconds": round(self.seconds, 3),
        }


def audio_features_unavailable() -> str:
    """Why audio features cannot be asked now ("" when they can), without calling Spotify."""
    if endpoint_allowed(ENDPOINT):
        return ""
    if settings.SPOTIFY_APP_MODE == "development":
        return NOT_IN_DEVELOPMENT_MODE
    return REFUSED_TO_THIS_APP


def features_of(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in FEATURE_KEYS if key in body}


def songs_audio_features(
    *,
    song_ids: Iterable[int],
    client: SpotifyClient,
    on_batch: Callable[[AudioFeaturesReport], bool | None] | None = None,
) -> AudioFeaturesReport:
    """Fetch and store the audio features of ``song_ids`` (see the module doc).

    Ends with ``report.unavailable`` set when the app may not use the endpoint (before any
    call in development mode, or at the 403 in extended mode). Other Spotify errors (a 429,
    an outage) propagate after the batches before them were committed.
    """
    report = AudioFeaturesReport()
    started = time.monotonic()
    report.unavailable = audio_features_unavailable()
    if report.unavailable:
        return report
    batch: list[int] = []
    for song_id in song_ids:
        batch.append(song_id)
        if len(batch) < AUDIO_FEATURES_BATCH_SIZE:
            continue
        if not _one_batch(batch, client, report, on_batch):
            break
        batch = []
    else:
        if batch:
            _one_batch(batch, client, report, on_batch)
    report.seconds = time.monotonic() - started
    return report


def _one_batch(
    ids: list[int],
    client: SpotifyClient,
    report: AudioFeaturesReport,
    on_batch: Callable[[AudioFeaturesReport], bool | None] | None,
) -> bool:
    """Fetch and write one batch; ``False`` when the run must stop."""
    songs = list(Song.objects.filter(pk__in=ids).only("id", "spotify_id").order_by("id"))
    report.songs += len(songs)
    usable = [s for s in songs if is_spotify_id(s.spotify_id)]
    report.skipped += len(songs) - len(usable)
    if usable:
        found: list[dict[str, Any] | None] | None = None
        # A 403: the client remembers it; the run stops here, saying why.
        with count_spotify_calls() as calls, contextlib.suppress(SpotifyForbiddenByAppMode):
            found = client.audio_features([s.spotify_id for s in usable if s.spotify_id])
        report.calls += add_calls(report.by_endpoint, calls)
        if found is None:
            report.unavailable = REFUSED_TO_THIS_APP
            return False
        _write(usable, found, report)
        report.batches += 1
    if on_batch is not None and on_batch(report) is False:
        report.stopped = True
        return False
    return True


def _write(
    songs: list[Song], found: list[dict[str, Any] | None], report: AudioFeaturesReport
) -> None:
    """Store the features on the songs re-read under a row lock; a song whose Spotify id
    changed while the call waited is left alone (counted as skipped)."""
    now = timezone.now()
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in Song.objects.filter(pk__in=[s.pk for s in songs]).select_for_update()
        }
        written: list[Song] = []
        for asked, body in zip(songs, found, strict=True):
            song = rows.get(asked.pk)
            if song is None or song.spotify_id != asked.spotify_id:
                report.skipped += 1
                continue
            if body:
                song.audio_features = features_of(body)
                report.stored += 1
            else:
                report.none += 1  # keep what was stored; remember that Spotify was asked
            song.audio_features_synced_at = now
            written.append(song)
        Song.objects.bulk_update(written, ["audio_features", "audio_features_synced_at"])
