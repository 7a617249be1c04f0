"""A connected user's Spotify library as Spotify answers for it in late 2026 (stdlib only).

Used by ``bench/fake_spotify.py`` (over HTTP, for ``bench/library.py``) and by the tests
(through ``responses`` callbacks, each body validated against the OpenAPI description):

- ``GET /me/playlists``: a paging object of SimplifiedPlaylistObjects (``items``, not
  ``tracks``, holds the count), ``limit`` at most 50.
- ``GET /playlists/{id}/items``: PlaylistTrackObjects whose object is under ``item``; 403 for a
  playlist the user neither owns nor collaborates on (or one marked ``forbidden``), 404 for
  an unknown one.
- ``GET /me/player/recently-played``: only the 50 most recent plays exist; with ``after``
  (Unix ms) the newest at most ``limit`` plays after it, newest first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.fake_catalog import spotify_id, track_object

WEB = "https://api.spotify.com/v1"
OPEN = "https://open.spotify.com"
PAGE_MAX = 50
RECENT_MAX = 50


def error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def iso_ms(ms: int) -> str:
    """Spotify's timestamp with milliseconds: 2026-11-30T06:00:00.123Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def user_object(user_id: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
        "href": f"{WEB}/users/{user_id}",
        "external_urls": {"spotify": f"{OPEN}/user/{user_id}"},
        "display_name": user_id.title(),
    }


def make_track(n: int) -> dict[str, Any]:
    """A distinct, valid TrackObject for number ``n``."""
    return track_object(
        name=f"Song {n}",
        artists=[f"Artist {n % 97}"],
        album=f"Album {n % 211}",
        duration_ms=150_000 + (n % 120) * 1000,
        isrc=f"QZFAK{n:07d}",
        track_id=spotify_id(f"library-track:{n}"),
    )


def episode_object(n: int) -> dict[str, Any]:
    eid = spotify_id(f"episode:{n}")
    return {
        "id": eid,
        "type": "episode",
        "uri": f"spotify:episode:{eid}",
        "href": f"{WEB}/episodes/{eid}",
        "name": f"Episode {n}",
        "description": "",
        "html_description": "",
        "duration_ms": 1_800_000,
        "explicit": False,
        "external_urls": {"spotify": f"{OPEN}/episode/{eid}"},
        "images": [],
        "is_externally_hosted": False,
        "is_playable": True,
        "languages": ["en"],
        "release_date": "2026-01-01",
        "release_date_precision": "day",
        "audio_preview_url": None,
        "show": {
            "id": spotify_id(f"show:{n}"),
            "type": "show",
            "uri": f"spotify:show:{spotify_id(f'show:{n}')}",
            "href": f"{WEB}/shows/{spotify_id(f'show:{n}')}",
            "name": f"Show {n}",
            "description": "",
            "html_description": "",
            "explicit": False,
            "external_urls": {"spotify": f"{OPEN}/show/x"},
            "images": [],
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "publisher": "Someone",
            "total_episodes": 1,
            "available_markets": [],
            "copyrights": [],
        },
    }


def local_track(name: str) -> dict[str, Any]:
    """A local file as a playlist lists it: ``is_local`` true and a ``spotify:local:`` uri.
    (Spotify sends null ids for these; the spec's TrackObject wants strings, so the fake
    keeps the shape valid and the code must not rely on the id: it keys on ``is_local``.)"""
    track = track_object(name=name, artists=["Someone"], album="Somewhere", duration_ms=200_000)
    track["is_local"] = True
    track["uri"] = f"spotify:local:Someone:Somewhere:{name.replace(' ', '+')}:200"
    track["external_ids"] = {}
    return track


@dataclass
class FakePlaylist:
    id: str
    name: str
    owner_id: str
    items: list[dict[str, Any] | None] = field(default_factory=list)  # track/episode/None
    collaborative: bool = False
    forbidden: bool = False  # answer 403 on items even if owned (a scope or region quirk)
    version: int = 1

    @property
    def snapshot_id(self) -> str:
        digest = hashlib.blake2b(f"{self.id}:{self.version}".encode(), digest_size=12).hexdigest()
        return f"snap-{digest[:24]}"

    def change(self) -> None:
        self.version += 1


@dataclass
class FakeAccount:
    """One Spotify user: its playlists (in its order) and plays (Unix ms, newest last)."""

    user_id: str
    playlists: list[FakePlaylist] = field(default_factory=list)
    plays: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def add_playlist(
        self, n: int, *, items: int = 0, owner_id: str | None = None, **kwargs: Any
    ) -> FakePlaylist:
        playlist = FakePlaylist(
            id=spotify_id(f"playlist:{self.user_id}:{n}"),
            name=f"Playlist {n}",
            owner_id=owner_id or self.user_id,
            items=[make_track(n * 1000 + i) for i in range(items)],
            **kwargs,
        )
        self.playlists.append(playlist)
        return playlist

    def play(self, at_ms: int, track: dict[str, Any]) -> None:
        self.plays.append((at_ms, track))
        self.plays.sort(key=lambda p: p[0])

    # -- the answers --

    def answer(self, label: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if label == "GET /me/playlists":
            return self.me_playlists(query)
        if label == "GET /playlists/{id}/items":
            return self.playlist_items(path.split("/")[-2], query)
        if label == "GET /me/player/recently-played":
            return self.recently_played(query)
        return 404, error(404, "Service not found")

    def _page(self, what: str, items: list[Any], query: dict[str, str]) -> tuple[int, Any]:
        try:
            limit = int(query.get("limit", "20"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return 400, error(400, "Invalid limit")
        if not 1 <= limit <= PAGE_MAX or offset < 0:
            return 400, error(400, "Invalid limit")
        href = f"{WEB}/{what}"
        end = offset + limit
        return 200, {
            "href": f"{href}?offset={offset}&limit={limit}",
            "items": items[offset:end],
            "limit": limit,
            "offset": offset,
            "total": len(items),
            "next": f"{href}?offset={end}&limit={limit}" if end < len(items) else None,
            "previous": f"{href}?offset={max(0, offset - limit)}&limit={limit}" if offset else None,
        }

    def _playlist_object(self, p: FakePlaylist) -> dict[str, Any]:
        ref = {"href": f"{WEB}/playlists/{p.id}/items", "total": len(p.items)}
        return {
            "id": p.id,
            "name": p.name,
            "type": "playlist",
            "uri": f"spotify:playlist:{p.id}",
            "href": f"{WEB}/playlists/{p.id}",
            "collaborative": p.collaborative,
            "public": not p.collaborative,
            "description": "",
            "external_urls": {"spotify": f"{OPEN}/playlist/{p.id}"},
            "images": [],
            "owner": user_object(p.owner_id),
            "snapshot_id": p.snapshot_id,
            "items": ref,
        }

    def me_playlists(self, query: dict[str, str]) -> tuple[int, Any]:
        return self._page("me/playlists", [self._playlist_object(p) for p in self.playlists], query)

    def playlist_items(self, playlist_id: str, query: dict[str, str]) -> tuple[int, Any]:
        playlist = next((p for p in self.playlists if p.id == playlist_id), None)
        if playlist is None:
            return 404, error(404, "Resource not found")
        if playlist.forbidden or (playlist.owner_id != self.user_id and not playlist.collaborative):
            return 403, error(403, "Forbidden")
        added = "2026-01-02T03:04:05Z"
        items = [
            {
                "added_at": added,
                "added_by": user_object(self.user_id),
                "is_local": bool(obj and obj.get("is_local")),
                "item": obj,
            }
            for obj in playlist.items
        ]
        return self._page(f"playlists/{playlist_id}/items", items, query)

    def recently_played(self, query: dict[str, str]) -> tuple[int, Any]:
        try:
            limit = int(query.get("limit", "20"))
            after = int(query["after"]) if "after" in query else None
        except ValueError:
            return 400, error(400, "Invalid cursor")
        if not 1 <= limit <= PAGE_MAX:
            return 400, error(400, "Invalid limit")
        # Spotify keeps only the 50 most recent plays.
        kept = self.plays[-RECENT_MAX:]
        if after is not None:
            kept = [p for p in kept if p[0] > after]
        page = list(reversed(kept[-limit:]))
        items = [
            {
                "track": track,
                "played_at": iso_ms(at),
                "context": {
                    "type": "album",
                    "uri": track["album"]["uri"],
                    "href": track["album"]["href"],
                    "external_urls": {"spotify": f"{OPEN}/album/x"},
                },
            }
            for at, track in page
        ]
        cursors = {"after": str(page[0][0]), "before": str(page[-1][0])} if page else None
        body: dict[str, Any] = {
            "href": f"{WEB}/me/player/recently-played?limit={limit}",
            "items": items,
            "limit": limit,
        }
        if cursors:
            body["cursors"] = cursors
        if len(page) == limit:  # the spec has "next" as a string: left out when there is none
            body["next"] = f"{WEB}/me/player/recently-played?before={page[-1][0]}&limit={limit}"
        return 200, body
