"""What is read of a connection's library: by the jobs (cursors, due states) and the web part."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from library.models import LibrarySyncState, Play, PlayGap, Playlist, PlaylistItem, PlaySource
from spotify_integration.models import SpotifyConnection
from sync.models import SyncJob, target_key_for

# The job kinds of the library (registered by sync/kinds_library.py).
PLAYS_KIND = "user_plays_sync"
PLAYLISTS_KIND = "user_playlists_sync"
HISTORY_KIND = "user_history_import"
LIBRARY_KINDS = (PLAYS_KIND, PLAYLISTS_KIND, HISTORY_KIND)


def playlists_of(connection: SpotifyConnection) -> QuerySet[Playlist]:
    """The connection's playlists in the user's order."""
    return Playlist.objects.filter(connection=connection).order_by("position", "id")


def playlist_items_of(playlist: Playlist) -> QuerySet[PlaylistItem]:
    """A playlist's items in order, with their catalog songs."""
    return (
        PlaylistItem.objects.filter(playlist=playlist).select_related("song").order_by("position")
    )


def plays_of(
    connection: SpotifyConnection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Play]:
    """The connection's plays, newest first; ``start`` inclusive, ``end`` exclusive."""
    plays = Play.objects.filter(connection=connection).select_related("song")
    if start is not None:
        plays = plays.filter(played_at__gte=start)
    if end is not None:
        plays = plays.filter(played_at__lt=end)
    return plays.order_by("-played_at", "-id")


def gaps_of(connection: SpotifyConnection, *, open_only: bool = False) -> QuerySet[PlayGap]:
    """The connection's gaps, newest first; ``open_only``: not filled by an import."""
    gaps = PlayGap.objects.filter(connection=connection)
    if open_only:
        gaps = gaps.filter(filled_at__isnull=True)
    return gaps.order_by("-start")


def plays_cursor(connection_id: int) -> datetime | None:
    """The newest stored ``played_at`` of a play read from the API: the plays sync's cursor.

    A query, so it moves only once plays are committed. Export rows do not move it (an
    export may reach past the last poll; the API must still be asked for what followed).
    """
    newest: datetime | None = Play.objects.filter(
        connection_id=connection_id, source=PlaySource.API
    ).aggregate(newest=Max("played_at"))["newest"]
    return newest


def sync_state_of(connection: SpotifyConnection) -> LibrarySyncState | None:
    return LibrarySyncState.objects.filter(connection=connection).first()


# --- For the web part (API, page, admin) ---------------------------------------------------


def playlist_of(connection: SpotifyConnection, *, spotify_id: str) -> Playlist | None:
    """One of the connection's playlists by its Spotify id (``None``: not the user's)."""
    return Playlist.objects.filter(connection=connection, spotify_id=spotify_id).first()


def sync_jobs_of(connection: SpotifyConnection) -> QuerySet[SyncJob]:
    """The library jobs (plays, playlists, history import) of the connection, newest first."""
    return SyncJob.objects.filter(
        kind__in=LIBRARY_KINDS, target_key=target_key_for(connection.user_id)
    ).order_by("-created_at", "-id")


def library_summary(connection: SpotifyConnection) -> dict[str, Any]:
    """Counts, last sync times and errors for the user's page: a query per table, not per row."""
    state = sync_state_of(connection)
    plays = Play.objects.filter(connection=connection).aggregate(
        count=Count("id"), newest=Max("played_at")
    )
    gaps = PlayGap.objects.filter(connection=connection).aggregate(
        count=Count("id"), open=Count("id", filter=Q(filled_at__isnull=True))
    )
    return {
        "playlists": Playlist.objects.filter(connection=connection).count(),
        "plays": plays["count"],
        "newest_play_at": plays["newest"],
        "gaps": gaps["count"],
        "open_gaps": gaps["open"],
        "plays_synced_at": state.plays_synced_at if state else None,
        "playlists_synced_at": state.playlists_synced_at if state else None,
        "plays_error": (state.plays_error if state else "") or None,
        "playlists_error": (state.playlists_error if state else "") or None,
        "skipped_reason": (state.skipped_reason if state else "") or None,
    }
