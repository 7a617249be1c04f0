"""Which songs an enrichment job works on: selectors of song ids, in id order, read in batches.

Each selector returns a ``QuerySet`` of song ids (``values_list("id", flat=True)``) ordered by
id; ``id_batches`` walks one by keyset (``id > last``), so a job that commits each batch can be
stopped and started again without skipping or repeating rows, and a long selection is never
held in memory.

- **match**: songs without a Spotify id, or a selection (explicit ids, an artist, songs never
  tried, songs that need review, songs without a match older than N days, songs whose track
  is gone from Spotify). Songs whose match a person decided (``SongMatch.manual``) are never
  selected.
- **refresh**: songs with a Spotify id whose ``spotify_synced_at`` is missing or older than
  ``SPOTIFY_REFRESH_AFTER_DAYS``, or given ids; songs gone from Spotify only when asked.
- **audio features**: songs with a Spotify id that Spotify was never asked about
  (``audio_features_synced_at`` is null), or given ids.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Artist, MatchStatus, Song, artist_key
from core.parsing import is_spotify_id


class MatchMode(enum.StrEnum):
    """Which songs a match run takes (narrowed further by ids and artist when given)."""

    DEFAULT = ""  # songs without a Spotify id; with ids given, exactly those songs
    MISSING = "missing"  # songs without a Spotify id (never tried, no match, needs review)
    NEVER_TRIED = "never_tried"  # no decision recorded yet
    NEEDS_REVIEW = "needs_review"
    NO_MATCH = "no_match"
    GONE = "gone"  # Spotify dropped the song's track: look for the one it has now
    ALL = "all"  # every song of the selection, matched ones too (not manual ones)


MATCH_MODE_CHOICES = [
    (MatchMode.DEFAULT.value, "Default: songs without a Spotify id (or exactly the ids given)"),
    (MatchMode.MISSING.value, "Songs without a Spotify id"),
    (MatchMode.NEVER_TRIED.value, "Never tried"),
    (MatchMode.NEEDS_REVIEW.value, "Needs review"),
    (MatchMode.NO_MATCH.value, "No match found (older than N days)"),
    (MatchMode.GONE.value, "Gone from Spotify (look for the track it has now)"),
    (MatchMode.ALL.value, "All songs of the selection, matched ones too"),
]


def _ids(qs: QuerySet[Song]) -> QuerySet[Song, int]:
    return qs.order_by("id").values_list("id", flat=True)


def artists_named(value: str) -> QuerySet[Artist]:
    """The artists ``value`` names: a catalog id (digits), a Spotify artist id, else a name
    (compared as the catalog keys names: case and accents ignored)."""
    value = value.strip()
    if value.isdigit():
        return Artist.objects.filter(pk=int(value))
    if is_spotify_id(value):
        return Artist.objects.filter(Q(spotify_id=value) | Q(name_key=artist_key(value)))
    return Artist.objects.filter(name_key=artist_key(value))


def _narrowed(qs: QuerySet[Song], *, song_ids: Iterable[int] | None, artist: str | None):
    if song_ids is not None:
        qs = qs.filter(pk__in=list(song_ids))
    if artist:
        qs = qs.filter(song_artists__artist__in=artists_named(artist)).distinct()
    return qs


def songs_to_match(
    *,
    mode: str = MatchMode.DEFAULT,
    song_ids: Iterable[int] | None = None,
    artist: str | None = None,
    older_than_days: int | None = None,
) -> QuerySet[Song, int]:
    """Ids of the songs a match run takes, never those whose match a person decided.

    ``older_than_days`` keeps only songs whose last decision is older than that (for
    ``no_match`` and ``needs_review``: try again what Spotify may have added since).
    """
    mode = MatchMode(mode)
    qs = Song.objects.exclude(match__manual=True)
    if mode == MatchMode.DEFAULT:
        mode = MatchMode.ALL if song_ids is not None else MatchMode.MISSING
    if mode == MatchMode.MISSING:
        qs = qs.filter(spotify_id__isnull=True)
    elif mode == MatchMode.NEVER_TRIED:
        qs = qs.filter(match__isnull=True, spotify_id__isnull=True)
    elif mode == MatchMode.NEEDS_REVIEW:
        qs = qs.filter(match_status=MatchStatus.NEEDS_REVIEW)
    elif mode == MatchMode.NO_MATCH:
        qs = qs.filter(match_status=MatchStatus.NO_MATCH)
    elif mode == MatchMode.GONE:
        qs = qs.filter(match_status=MatchStatus.GONE)
    if older_than_days:
        cutoff = timezone.now() - timedelta(days=older_than_days)
        qs = qs.filter(match__decided_at__lt=cutoff)
    return _ids(_narrowed(qs, song_ids=song_ids, artist=artist))


def refresh_cutoff(older_than_days: int | None = None) -> timedelta:
    days = settings.SPOTIFY_REFRESH_AFTER_DAYS if older_than_days is None else older_than_days
    return timedelta(days=days)


def songs_to_refresh(
    *,
    song_ids: Iterable[int] | None = None,
    artist: str | None = None,
    older_than_days: int | None = None,
    include_gone: bool = False,
) -> QuerySet[Song, int]:
    """Ids of songs with a Spotify id that are stale (never synced, or synced longer ago than
    ``older_than_days``, default ``SPOTIFY_REFRESH_AFTER_DAYS``); with ``song_ids``, those songs
    however fresh. Songs gone from Spotify only with ``include_gone``."""
    qs = Song.objects.filter(spotify_id__isnull=False)
    if not include_gone:
        qs = qs.exclude(match_status=MatchStatus.GONE)
    if song_ids is None:
        cutoff = timezone.now() - refresh_cutoff(older_than_days)
        qs = qs.filter(Q(spotify_synced_at__isnull=True) | Q(spotify_synced_at__lt=cutoff))
    return _ids(_narrowed(qs, song_ids=song_ids, artist=artist))


def songs_without_audio_features(
    *, song_ids: Iterable[int] | None = None, artist: str | None = None
) -> QuerySet[Song, int]:
    """Ids of songs with a Spotify id that Spotify was never asked for audio features (or the
    given songs, asked again), songs gone from Spotify left out."""
    qs = Song.objects.filter(spotify_id__isnull=False).exclude(match_status=MatchStatus.GONE)
    if song_ids is None:
        qs = qs.filter(audio_features_synced_at__isnull=True)
    return _ids(_narrowed(qs, song_ids=song_ids, artist=artist))


def id_batches(
    ids: QuerySet[Song, int], *, size: int, limit: int | None = None
) -> Iterator[list[int]]:
    """The ids of a selector in batches of ``size``, by keyset, at most ``limit`` in all.

    Each batch is read when the previous one is done, so rows a batch changed (and that left
    the selection) are not read again, and a row is never skipped.
    """
    last = 0
    taken = 0
    while limit is None or taken < limit:
        want = size if limit is None else min(size, limit - taken)
        batch = list(ids.filter(pk__gt=last)[:want])
        if not batch:
            return
        yield batch
        taken += len(batch)
        last = batch[-1]
