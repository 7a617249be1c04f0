"""A listener with a connection and a synced library, for the API, page and admin tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache

from library.models import (
    ItemKind,
    LibrarySyncState,
    Play,
    PlayGap,
    Playlist,
    PlaylistItem,
    PlaySource,
)
from spotify_integration.models import SpotifyConnection
from spotify_integration.ratelimit import spotify_pause_clear
from tests.catalog.factories import SongFactory
from tests.spotify_integration.factories import SpotifyConnectionFactory, UserFactory

# The newest play of a library; plays go back a minute and a half each from here.
NEWEST = datetime(2026, 11, 29, 20, 0, 0, 123000, tzinfo=UTC)


@dataclass
class Library:
    connection: SpotifyConnection
    playlists: list[Playlist] = field(default_factory=list)
    plays: list[Play] = field(default_factory=list)
    gaps: list[PlayGap] = field(default_factory=list)

    @property
    def user(self) -> Any:
        return self.connection.user


def _spotify_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:0>{22 - len(prefix)}}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # DRF's throttles and Spotify's pause live in the cache (Redis, this worker's prefix only):
    # every test starts with none.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:  # pragma: no cover - the embedded default
        cache.clear()
    yield
    spotify_pause_clear()


@pytest.fixture
def make_library(db) -> Callable[..., Library]:
    """A user with a connection, 3 playlists (one not readable), 60 plays and 2 gaps."""
    return library_make


def library_make(username: str, *, tag: str = "A", plays: int = 60, **connection: Any) -> Library:
    """What ``make_library`` makes (also for the browser tests, on a transactional database)."""
    user = UserFactory(username=username)
    conn: SpotifyConnection = SpotifyConnectionFactory(
        user=user, account_id=f"acct-{username}", **connection
    )
    library = Library(conn)
    songs = [
        SongFactory(
            title=f"{tag} Song {n}",
            artist_names=f"{tag} Artist",
            spotify_id=_spotify_id(f"{tag}trk", n),
        )
        for n in range(5)
    ]
    for n, (name, readable) in enumerate(
        [(f"{tag} Road Trip", True), (f"{tag} Focus", True), (f"{tag} Followed Mix", False)]
    ):
        playlist = Playlist.objects.create(
            connection=conn,
            spotify_id=_spotify_id(f"{tag}pl", n),
            name=name,
            owner_id=f"owner-{username}",
            owner_name=username.title(),
            item_count=4 if readable else 30,
            items_readable=readable,
            position=n,
            snapshot_id=f"snap-{n}",
            items_snapshot_id=f"snap-{n}" if readable else "",
        )
        library.playlists.append(playlist)
    first = library.playlists[0]
    for position, song in enumerate(songs[:3]):
        PlaylistItem.objects.create(
            playlist=first,
            position=position,
            kind=ItemKind.TRACK,
            song=song,
            spotify_uri=f"spotify:track:{song.spotify_id}",
            name=song.title,
            artist_names=song.artist_names,
            added_at=NEWEST - timedelta(days=position),
            added_by=f"owner-{username}",
        )
    PlaylistItem.objects.create(
        playlist=first, position=3, kind=ItemKind.LOCAL, name=f"{tag} home demo.mp3"
    )
    for n in range(plays):
        song = songs[n % len(songs)]
        library.plays.append(
            Play.objects.create(
                connection=conn,
                played_at=NEWEST - timedelta(seconds=90 * n),
                track_id=song.spotify_id,
                song=song,
                context_type="playlist" if n % 2 else "album",
                source=PlaySource.API,
            )
        )
    library.gaps = [
        PlayGap.objects.create(
            connection=conn,
            start=NEWEST - timedelta(days=3, hours=2),
            end=NEWEST - timedelta(days=3),
        ),
        PlayGap.objects.create(
            connection=conn,
            start=NEWEST - timedelta(days=9, hours=1),
            end=NEWEST - timedelta(days=9),
            filled_at=NEWEST - timedelta(days=1),
            filled_plays=12,
        ),
    ]
    LibrarySyncState.objects.create(
        connection=conn,
        plays_synced_at=NEWEST + timedelta(minutes=5),
        playlists_synced_at=NEWEST - timedelta(hours=2),
    )
    return library


@pytest.fixture
def alice(make_library) -> Library:
    return make_library("alice", tag="A")


@pytest.fixture
def bob(make_library) -> Library:
    return make_library("bob", tag="B", plays=3)


def export_file(rows: list[tuple[str, str]], *, name: str = "Streaming_History_Audio_2026.json"):
    """An Extended streaming history file: (ts, track id) rows, each played for 3 minutes."""
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    body = [
        {
            "ts": ts,
            "ms_played": 180_000,
            "spotify_track_uri": f"spotify:track:{track}",
            "master_metadata_track_name": "A song",
            "ip_addr": "192.0.2.1",
            "platform": "linux",
        }
        for ts, track in rows
    ]
    return SimpleUploadedFile(name, json.dumps(body).encode(), content_type="application/json")
