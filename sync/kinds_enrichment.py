"""The catalog enrichment kinds: ``spotify_match``, ``spotify_refresh`` and
``spotify_audio_features``, registered with the others through ``sync.kinds.BUILTIN_KINDS``.

Each one picks its songs with a selector of ``catalog.enrichment.selection``, hands them to
the enrichment service in batches (each committed), checkpoints after every batch and counts
every Spotify request in ``ctx.spotify_calls``. All are repeatable: a second run over rows the
first one finished selects nothing and makes no call (see docs/enrichment.md).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from catalog.enrichment.audio_features import AudioFeaturesReport, songs_audio_features
from catalog.enrichment.calls import web_api_calls, web_api_total
from catalog.enrichment.match import song_match
from catalog.enrichment.refresh import RefreshReport, refresh_batch_size, songs_refresh
from catalog.enrichment.selection import (
    MATCH_MODE_CHOICES,
    artists_named,
    id_batches,
    songs_to_match,
    songs_to_refresh,
    songs_without_audio_features,
)
from catalog.models import Song
from catalog.readahead import chunked
from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.exceptions import SpotifyForbiddenByAppMode
from spotify_integration.metrics import SpotifyCallCounter
from spotify_integration.ratelimit import Lane
from sync.exceptions import JobFailed
from sync.registry import JobKind
from sync.services.context import JobContext

MAX_SONG_IDS = 10_000
SELECTION_READ_SIZE = 1000  # ids read from the selection at a time (not a Spotify batch)
# Songs matched between checkpoints: each costs one to three searches, so a checkpoint comes
# every few dozen calls, well inside the heartbeat timeout even when enrichment waits for budget.
MATCH_BATCH_SIZE = 20


# --- parameters shared by the kinds ----------------------------------------------------------
class SongIdsField(forms.CharField):
    """Catalog song ids separated by commas or spaces; cleaned to "1,2,3" (a scalar, so a
    retried job's parameters validate again)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200_000)
        kwargs.setdefault("help_text", "Only these songs (catalog ids, comma-separated).")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        parts = [p for p in re.split(r"[\s,]+", text) if p]
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError("expected song ids separated by commas.", code="invalid")
        if len(parts) > MAX_SONG_IDS:
            raise forms.ValidationError(f"at most {MAX_SONG_IDS} ids.", code="too_many")
        return ",".join(str(i) for i in sorted({int(p) for p in parts}))


def song_ids_param(params: dict[str, Any]) -> list[int] | None:
    text = params.get("song_ids") or ""
    return [int(p) for p in text.split(",")] if text else None


class ArtistField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault(
            "help_text", "Only songs of this artist: catalog id, Spotify artist id or name."
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text = super().clean(value).strip()
        if text and not artists_named(text).exists():
            raise forms.ValidationError(f"no artist {text!r} in the catalog.", code="unknown")
        return text


def limit_field() -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=0,
        initial=0,
        help_text="At most this many songs (0: all of the selection).",
    )


def _selection(ids: QuerySet[Song, int], params: dict[str, Any]) -> tuple[Iterator[int], int]:
    """The selection's ids one by one (read in keyset batches) and how many there are."""
    limit = int(params.get("limit") or 0) or None
    total = ids.count()
    if limit is not None:
        total = min(total, limit)

    def each() -> Iterator[int]:
        for batch in id_batches(ids, size=SELECTION_READ_SIZE, limit=limit):
            yield from batch

    return each(), total


class _CallMeter:
    """Hands the calls a counter saw to the job context, so each checkpoint writes them."""

    def __init__(self, ctx: JobContext, counter: SpotifyCallCounter) -> None:
        self.ctx, self.counter, self.added = ctx, counter, 0

    def flush(self) -> None:
        total = web_api_total(self.counter)
        self.ctx.add_spotify_calls(total - self.added)
        self.added = total


def enrichment_client() -> SpotifyClient:
    """The app's client for enrichment work: the lowest lane of the shared budget, which
    waits for what interactive and library calls leave."""
    return SpotifyClient.for_app(lane=Lane.ENRICHMENT)


# --- spotify_match ---------------------------------------------------------------------------
class SpotifyMatchParams(forms.Form):
    mode = forms.ChoiceField(
        choices=MATCH_MODE_CHOICES,
        required=False,
        initial="",
        help_text="Which songs; songs a person matched or rejected are never taken.",
    )
    song_ids = SongIdsField(help_text="Only these songs (catalog ids).")
    artist = ArtistField()
    older_than_days = forms.IntegerField(
        required=False,
        min_value=0,
        initial=0,
        help_text="Only songs whose last decision is older than this many days (0: any).",
    )
    limit = limit_field()


def spotify_match_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Match each selected song with ``catalog.enrichment.match.song_match`` (one to three
    searches a song), checkpointing every ``MATCH_BATCH_SIZE`` songs."""
    ids, total = _selection(
        songs_to_match(
            mode=params.get("mode") or "",
            song_ids=song_ids_param(params),
            artist=params.get("artist") or None,
            older_than_days=params.get("older_than_days") or None,
        ),
        params,
    )
    ctx.report(done=0, total=total, failed=0)
    client = enrichment_client()
    outcomes: Counter[str] = Counter()
    done = 0
    stopped = False
    with count_spotify_calls() as calls:
        meter = _CallMeter(ctx, calls)
        try:
            for batch in chunked(ids, MATCH_BATCH_SIZE):
                songs = (
                    Song.objects.filter(pk__in=batch)
                    .select_related("album")
                    .prefetch_related("song_artists__artist")
                    .order_by("id")
                )
                for song in songs:
                    outcome = song_match(song=song, client=client)
                    outcomes[outcome.status if outcome else "skipped_manual"] += 1
                done += len(batch)
                meter.flush()
                if not ctx.checkpoint(done=done, total=total):
                    stopped = True
                    break
        finally:
            meter.flush()
    return {
        "selected": total,
        "songs": done,
        "matched": outcomes["matched"],
        "needs_review": outcomes["needs_review"],
        "no_match": outcomes["no_match"],
        "skipped_manual": outcomes["skipped_manual"],
        "spotify_calls": web_api_total(calls),
        "calls_by_endpoint": web_api_calls(calls),
        "stopped": stopped,
    }


# --- spotify_refresh -------------------------------------------------------------------------
class SpotifyRefreshParams(forms.Form):
    song_ids = SongIdsField(help_text="Only these songs (catalog ids), however fresh.")
    artist = ArtistField()
    older_than_days = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="Stale after this many days (empty: SPOTIFY_REFRESH_AFTER_DAYS).",
    )
    include_gone = forms.BooleanField(
        required=False, initial=False, help_text="Ask again about songs gone from Spotify."
    )
    limit = limit_field()


def spotify_refresh_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    ids, total = _selection(
        songs_to_refresh(
            song_ids=song_ids_param(params),
            artist=params.get("artist") or None,
            older_than_days=params.get("older_than_days"),
            include_gone=bool(params.get("include_gone")),
        ),
        params,
    )
    ctx.report(done=0, total=total, failed=0)
    client = enrichment_client()
    with count_spotify_calls() as calls:
        meter = _CallMeter(ctx, calls)

        def on_batch(r: RefreshReport) -> bool:
            meter.flush()
            return ctx.checkpoint(done=r.songs, total=total, failed=r.gone + r.skipped)

        try:
            report = songs_refresh(
                song_ids=ids, client=client, batch_size=refresh_batch_size(), on_batch=on_batch
            )
        finally:
            meter.flush()  # also the calls of a batch that failed (a 429): they were made
    ctx.report(done=report.songs, failed=report.gone + report.skipped)
    return {**report.as_dict(), "selected": total}


# --- spotify_audio_features ------------------------------------------------------------------
class SpotifyAudioFeaturesParams(forms.Form):
    song_ids = SongIdsField(help_text="Only these songs (catalog ids), asked again.")
    artist = ArtistField()
    limit = limit_field()


def spotify_audio_features_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    ids, total = _selection(
        songs_without_audio_features(
            song_ids=song_ids_param(params), artist=params.get("artist") or None
        ),
        params,
    )
    ctx.report(done=0, total=total, failed=0)
    client = enrichment_client()
    with count_spotify_calls() as calls:
        meter = _CallMeter(ctx, calls)

        def on_batch(r: AudioFeaturesReport) -> bool:
            meter.flush()
            return ctx.checkpoint(done=r.songs, total=total, failed=r.skipped)

        try:
            report = songs_audio_features(song_ids=ids, client=client, on_batch=on_batch)
        finally:
            meter.flush()
    ctx.report(done=report.songs, failed=report.skipped)
    result = {**report.as_dict(), "selected": total}
    if report.unavailable:
        raise JobFailed(report.unavailable, code=SpotifyForbiddenByAppMode.code, result=result)
    return result


def scheduled_params(kind: str) -> dict[str, Any]:
    """The selection of a scheduled run (sync/schedule.py): the hourly match takes songs never
    tried, the nightly refresh stale ones; each at most its setting's number of songs."""
    if kind == "spotify_match":
        return {"mode": "never_tried", "limit": settings.SPOTIFY_MATCH_HOURLY_LIMIT}
    if kind == "spotify_refresh":
        return {"limit": settings.SPOTIFY_REFRESH_NIGHTLY_LIMIT}
    raise ValueError(f"{kind} has no schedule")


ENRICHMENT_KINDS: list[JobKind] = [
    JobKind(
        name="spotify_match",
        label="Match songs to Spotify",
        description="Find each selected song's Spotify track (ISRC first, then title, artists "
        "and album) and record the decision with its evidence: matched, needs review or no "
        "match. Songs a person decided are never touched.",
        run=spotify_match_run,
        params_form=SpotifyMatchParams,
        repeatable=True,
        max_attempts=5,
    ),
    JobKind(
        name="spotify_refresh",
        label="Refresh Spotify metadata",
        description="Read the Spotify tracks of stale songs again (or of the songs given): "
        "album image, preview URL, popularity; a track Spotify no longer has marks its song "
        "gone. 20 calls per 1,000 songs in extended mode, 1,000 in development mode.",
        run=spotify_refresh_run,
        params_form=SpotifyRefreshParams,
        repeatable=True,
        max_attempts=5,
    ),
    JobKind(
        name="spotify_audio_features",
        label="Fetch Spotify audio features",
        description="Fetch the audio features of songs never asked (100 a call). Extended-"
        "quota apps only: in development mode the job ends at once, with 0 calls.",
        run=spotify_audio_features_run,
        params_form=SpotifyAudioFeaturesParams,
        repeatable=True,
        max_attempts=5,
    ),
]
