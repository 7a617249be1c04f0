"""What Encore keeps of a connected user's Spotify library (issue 12).

Everything here belongs to one :class:`~spotify_integration.models.SpotifyConnection` and is
deleted with it (``on_delete=CASCADE``). Catalog songs are shared: an item or a play points
at a :class:`~catalog.models.Song` written through the catalog's upsert, and survives it
(``SET_NULL``) if an operator deletes the song.
"""

from __future__ import annotations

from django.db import models

from catalog.models import Song
from spotify_integration.models import SpotifyConnection


class Playlist(models.Model):
    """One playlist as ``/me/playlists`` lists it for the connection."""

    connection = models.ForeignKey(
        SpotifyConnection, on_delete=models.CASCADE, related_name="playlists"
    )
    spotify_id = models.CharField(max_length=64)
    name = models.CharField(max_length=500, blank=True, default="")
    owner_id = models.CharField(max_length=128, blank=True, default="")
    owner_name = models.CharField(max_length=300, blank=True, default="")
    public = models.BooleanField(null=True, blank=True)  # NULL: Spotify did not say
    collaborative = models.BooleanField(default=False)
    # The snapshot Spotify lists now, and the one whose items are stored: items are read
    # again only when the two differ (an unchanged account costs 0 item calls).
    snapshot_id = models.CharField(max_length=200, blank=True, default="")
    items_snapshot_id = models.CharField(max_length=200, blank=True, default="")
    item_count = models.PositiveIntegerField(default=0)  # as listed by Spotify
    # False after a 403 on /playlists/{id}/items (followed, not owned nor collaborative).
    items_readable = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)  # order in the user's list
    synced_at = models.DateTimeField(null=True, blank=True)  # listed by the last sync
    items_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "spotify_id"], name="library_playlist_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.spotify_id


class ItemKind(models.TextChoices):
    TRACK = "track", "Track"
    EPISODE = "episode", "Podcast episode"
    LOCAL = "local", "Local file"
    UNAVAILABLE = "unavailable", "Unavailable"  # Spotify returned no item (removed, region)


class PlaylistItem(models.Model):
    """One entry of a playlist at a position. Episodes and local files are kept as such."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.TRACK)
    song = models.ForeignKey(
        Song, on_delete=models.SET_NULL, null=True, blank=True, related_name="playlist_items"
    )
    spotify_uri = models.CharField(max_length=200, blank=True, default="")  # local files too
    name = models.CharField(max_length=500, blank=True, default="")
    artist_names = models.CharField(max_length=2000, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    added_at = models.DateTimeField(null=True, blank=True)  # NULL for very old playlists
    added_by = models.CharField(max_length=128, blank=True, default="")  # Spotify user id

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["playlist", "position"], name="library_item_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.name}"


class PlaySource(models.TextChoices):
    API = "api", "Recently played"
    EXPORT = "export", "Streaming history export"


class Play(models.Model):
    """One play. Unique on (connection, ``played_at``, track): repeats are absorbed."""

    connection = models.ForeignKey(
        SpotifyConnection, on_delete=models.CASCADE, related_name="plays"
    )
    played_at = models.DateTimeField()  # millisecond precision (Spotify gives ms)
    track_id = models.CharField(max_length=64)  # Spotify track id, part of the unique key
    song = models.ForeignKey(
        Song, on_delete=models.SET_NULL, null=True, blank=True, related_name="plays"
    )
    context_type = models.CharField(max_length=20, blank=True, default="")  # album, playlist...
    context_uri = models.CharField(max_length=200, blank=True, default="")
    ms_played = models.PositiveIntegerField(null=True, blank=True)  # the export says it
    source = models.CharField(max_length=10, choices=PlaySource.choices, default=PlaySource.API)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-played_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "played_at", "track_id"], name="library_play_unique"
            )
        ]
        indexes = [models.Index(fields=["connection", "-played_at"], name="library_play_recent")]

    def __str__(self) -> str:
        return f"{self.track_id} at {self.played_at.isoformat()}"


class PlayGap(models.Model):
    """A span in which plays may have been missed (a full page newer than the cursor)."""

    connection = models.ForeignKey(SpotifyConnection, on_delete=models.CASCADE, related_name="gaps")
    start = models.DateTimeField()  # the newest stored play before the gap (the cursor)
    end = models.DateTimeField()  # the oldest play of the full page
    found_at = models.DateTimeField(auto_now_add=True)
    filled_at = models.DateTimeField(null=True, blank=True)  # an export import covered it
    filled_plays = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "start", "end"], name="library_gap_unique"
            )
        ]

    def __str__(self) -> str:
        return f"gap {self.start.isoformat()} .. {self.end.isoformat()}"


class LibrarySyncState(models.Model):
    """Per connection: when each kind of sync is next due and how the last one went."""

    connection = models.OneToOneField(
        SpotifyConnection, on_delete=models.CASCADE, related_name="library_state"
    )
    plays_due_at = models.DateTimeField(null=True, blank=True)  # NULL: due now
    playlists_due_at = models.DateTimeField(null=True, blank=True)
    plays_synced_at = models.DateTimeField(null=True, blank=True)  # last success
    playlists_synced_at = models.DateTimeField(null=True, blank=True)
    plays_error = models.TextField(blank=True, default="")  # last failure, "" after a success
    playlists_error = models.TextField(blank=True, default="")
    skipped_reason = models.CharField(max_length=200, blank=True, default="")  # fan-out's why
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"library sync state of connection {self.connection_id}"
