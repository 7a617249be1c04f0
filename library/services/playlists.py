"""``user_playlists_sync``: the connection's playlists, and the items of those that changed.

* ``/me/playlists`` is read in full (50 a page): one call per 50 playlists.
* Items (``/playlists/{id}/items``, 50 a page) are read only for playlists whose
  ``snapshot_id`` differs from the one whose items are stored (``items_snapshot_id``) and that
  the user owns or collaborates on (Spotify answers 403 for the others). An unchanged account
  therefore costs one call per 50 playlists and no item call.
* A 403 on items marks the playlist's items unreadable; it is not a failure.
* A playlist no longer listed is removed (with its items).
* A playlist's items are replaced in one transaction together with ``items_snapshot_id``: a
  crash halfway leaves the old items and the old snapshot, so the next run reads it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from library.models import ItemKind, Playlist, PlaylistItem
from library.services.plays import parse_played_at
from library.services.songs import songs_for_tracks
from spotify_integration.client import SpotifyClient
from spotify_integration.client.api import PAGE_MAX_LIMIT
from spotify_integration.exceptions import (
    SpotifyForbidden,
    SpotifyForbiddenByScope,
    SpotifyNotFound,
)
from spotify_integration.models import SpotifyConnection

LISTED_FIELDS = (
    "name",
    "owner_id",
    "owner_name",
    "public",
    "collaborative",
    "snapshot_id",
    "item_count",
    "position",
    "synced_at",
)


@dataclass
class PlaylistsReport:
    listed: int = 0
    created: int = 0
    removed: int = 0
    items_read: int = 0  # playlists whose items were read
    items_unchanged: int = 0  # readable playlists whose snapshot had not changed
    not_owned: int = 0  # followed playlists: items not readable by the API
    forbidden: int = 0  # 403 on items
    items_written: int = 0
    stopped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _pages(fetch: Callable[[int], dict[str, Any]]) -> list[Any]:
    items: list[Any] = []
    offset = 0
    while True:
        page = fetch(offset)
        batch = page.get("items") or []
        items.extend(batch)
        if not page.get("next") or not batch:
            return items
        offset += len(batch)


def _listed_fields(raw: dict[str, Any], position: int, now: datetime) -> dict[str, Any]:
    owner = raw.get("owner") or {}
    count = (raw.get("items") or raw.get("tracks") or {}).get("total") or 0
    return {
        "name": str(raw.get("name") or "")[:500],
        "owner_id": str(owner.get("id") or "")[:128],
        "owner_name": str(owner.get("display_name") or "")[:300],
        "public": raw.get("public"),
        "collaborative": bool(raw.get("collaborative")),
        "snapshot_id": str(raw.get("snapshot_id") or "")[:200],
        "item_count": int(count),
        "position": position,
        "synced_at": now,
    }


def playlists_list_store(
    *, connection: SpotifyConnection, listed: list[Any]
) -> tuple[list[Playlist], PlaylistsReport]:
    """Write the listed playlists (one transaction) and remove those no longer listed."""
    now = timezone.now()
    report = PlaylistsReport()
    wanted: dict[str, dict[str, Any]] = {}
    for raw in listed:
        if isinstance(raw, dict) and raw.get("id") and raw["id"] not in wanted:
            wanted[str(raw["id"])[:64]] = _listed_fields(raw, len(wanted), now)
    report.listed = len(wanted)
    with transaction.atomic():
        existing = {
            p.spotify_id: p
            for p in Playlist.objects.select_for_update().filter(connection=connection)
        }
        gone = [p.pk for sid, p in existing.items() if sid not in wanted]
        report.removed = (
            Playlist.objects.filter(pk__in=gone).delete()[1].get(Playlist._meta.label, 0)
        )
        changed, new = [], []
        for spotify_id, fields in wanted.items():
            row = existing.get(spotify_id)
            if row is None:
                new.append(Playlist(connection=connection, spotify_id=spotify_id, **fields))
                continue
            for name, value in fields.items():
                setattr(row, name, value)
            changed.append(row)
        Playlist.objects.bulk_update(changed, [*LISTED_FIELDS, "updated_at"], batch_size=500)
        Playlist.objects.bulk_create(new, ignore_conflicts=True)
        report.created = len(new)
    rows = list(Playlist.objects.filter(connection=connection).order_by("position"))
    return rows, report


def _readable_by_user(playlist: Playlist, connection: SpotifyConnection) -> bool:
    owned = bool(connection.spotify_user_id) and playlist.owner_id == connection.spotify_user_id
    return owned or playlist.collaborative


def _item_row(playlist: Playlist, position: int, raw: Any, songs: dict[str, int]) -> PlaylistItem:
    raw = raw if isinstance(raw, dict) else {}
    obj = raw.get("item") or raw.get("track")
    added_by = raw.get("added_by") or {}
    row = PlaylistItem(
        playlist=playlist,
        position=position,
        added_at=parse_played_at(raw["added_at"]) if raw.get("added_at") else None,
        added_by=str(added_by.get("id") or "")[:128],
    )
    if not isinstance(obj, dict):
        row.kind = ItemKind.UNAVAILABLE
        return row
    row.spotify_uri = str(obj.get("uri") or "")[:200]
    row.name = str(obj.get("name") or "")[:500]
    duration = obj.get("duration_ms")
    row.duration_ms = duration if isinstance(duration, int) and duration >= 0 else None
    if obj.get("type") == "episode":
        row.kind = ItemKind.EPISODE
        row.artist_names = str((obj.get("show") or {}).get("name") or "")[:2000]
        return row
    row.artist_names = ", ".join(a.get("name") or "" for a in obj.get("artists") or [])[:2000]
    if raw.get("is_local") or obj.get("is_local"):
        row.kind = ItemKind.LOCAL
        return row
    row.kind = ItemKind.TRACK
    row.song_id = songs.get(str(obj.get("id") or ""))
    return row


def playlist_items_replace(*, playlist: Playlist, items: list[Any], snapshot_id: str) -> int:
    """Replace a playlist's items and record their snapshot, atomically; returns the count."""
    tracks = [
        obj
        for raw in items
        if isinstance(raw, dict)
        and isinstance(obj := raw.get("item") or raw.get("track"), dict)
        and obj.get("type", "track") == "track"
    ]
    songs = songs_for_tracks(tracks)  # the catalog's own transaction, idempotent
    rows = [_item_row(playlist, i, raw, songs) for i, raw in enumerate(items)]
    now = timezone.now()
    with transaction.atomic():
        PlaylistItem.objects.filter(playlist=playlist).delete()
        PlaylistItem.objects.bulk_create(rows, batch_size=1000)
        Playlist.objects.filter(pk=playlist.pk).update(
            items_snapshot_id=snapshot_id, items_readable=True, items_synced_at=now
        )
    return len(rows)


def _mark_unreadable(playlist: Playlist, snapshot_id: str) -> None:
    """No items for this snapshot (not asked again until the snapshot changes)."""
    with transaction.atomic():
        PlaylistItem.objects.filter(playlist=playlist).delete()
        Playlist.objects.filter(pk=playlist.pk).update(
            items_readable=False, items_snapshot_id=snapshot_id, items_synced_at=timezone.now()
        )


def _items_of(client: SpotifyClient, playlist_id: str) -> list[Any]:
    def page(offset: int) -> dict[str, Any]:
        return client.playlist_items(playlist_id=playlist_id, limit=PAGE_MAX_LIMIT, offset=offset)

    return _pages(page)


def playlists_sync(
    *,
    connection: SpotifyConnection,
    client: SpotifyClient,
    on_playlist: Callable[[int, int], bool] | None = None,
) -> PlaylistsReport:
    """List the playlists, then read the items of the changed ones the user may read.

    ``on_playlist(done, total)`` is called after each playlist whose items were considered;
    it returns ``False`` to stop (a cancel): what was committed stays, the rest waits.
    """
    listed = _pages(
        lambda offset: client.current_user_playlists(limit=PAGE_MAX_LIMIT, offset=offset)
    )
    rows, report = playlists_list_store(connection=connection, listed=listed)
    todo = [p for p in rows if p.snapshot_id != p.items_snapshot_id or p.items_synced_at is None]
    report.items_unchanged = len(rows) - len(todo)
    for done, playlist in enumerate(todo, start=1):
        if not _readable_by_user(playlist, connection):
            report.not_owned += 1
            _mark_unreadable(playlist, playlist.snapshot_id)
        else:
            try:
                items = _items_of(client, playlist.spotify_id)
            except SpotifyForbiddenByScope:
                raise
            except SpotifyForbidden:
                report.forbidden += 1
                _mark_unreadable(playlist, playlist.snapshot_id)
            except SpotifyNotFound:
                pass  # deleted since it was listed: the next listing removes it
            else:
                report.items_read += 1
                report.items_written += playlist_items_replace(
                    playlist=playlist, items=items, snapshot_id=playlist.snapshot_id
                )
        if on_playlist is not None and not on_playlist(done, len(todo)):
            report.stopped = True
            break
    return report
