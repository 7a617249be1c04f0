"""``user_plays_sync``: read the connection's recently played tracks after the cursor.

ListenBrainz's rule: the cursor is the newest *stored* ``played_at`` of an API play (a query,
``library.selectors.plays_cursor``), so it moves only once the plays are committed. A crash
between the fetch and the commit writes nothing and moves nothing: the next run asks again
from the same cursor and gets the same plays (as long as Spotify still has them: it keeps the
50 most recent). The unique key absorbs plays read twice by overlapping polls.

A full page (50) whose oldest play is newer than the cursor means plays may have been missed
between the two: a ``PlayGap`` (cursor -> oldest play) is recorded and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from library.metrics import record_gap, record_plays
from library.models import PlayGap, PlaySource
from library.selectors import plays_cursor
from library.services.songs import songs_for_tracks
from library.services.store import NewPlay, plays_store
from spotify_integration.client import SpotifyClient
from spotify_integration.client.api import PAGE_MAX_LIMIT
from spotify_integration.models import SpotifyConnection

logger = logging.getLogger("encore.library")


@dataclass
class PlaysReport:
    fetched: int = 0
    inserted: int = 0
    duplicates: int = 0
    gap: bool = False
    cursor_before: str | None = None
    cursor_after: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def parse_played_at(value: str) -> datetime:
    """Spotify's ``played_at`` ("2026-11-30T06:00:00.123Z") as an aware UTC datetime (ms)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _plays_of_page(items: list[Any], songs: dict[str, int]) -> list[NewPlay]:
    plays = []
    for item in items:
        track = item.get("track") or {}
        track_id = track.get("id")
        if not track_id or not item.get("played_at"):
            continue  # a local file has no track id: nothing to key the play on
        context = item.get("context") or {}
        plays.append(
            NewPlay(
                played_at=parse_played_at(item["played_at"]),
                track_id=track_id,
                song_id=songs.get(track_id),
                context_type=str(context.get("type") or ""),
                context_uri=str(context.get("uri") or ""),
            )
        )
    return plays


def plays_sync(*, connection: SpotifyConnection, client: SpotifyClient) -> PlaysReport:
    """One poll: fetch after the cursor, upsert new tracks in the catalog, insert the plays
    and any gap in one transaction. Safe to repeat and to kill at any point."""
    cursor = plays_cursor(connection.pk)
    report = PlaysReport(cursor_before=cursor.isoformat() if cursor else None)
    page = client.recently_played(
        limit=PAGE_MAX_LIMIT, after=_to_ms(cursor) if cursor is not None else None
    )
    items = [i for i in page.get("items") or [] if isinstance(i, dict)]
    report.fetched = len(items)
    # Catalog songs first (their own transaction; idempotent, so a crash after it is harmless).
    songs = songs_for_tracks(i.get("track") or {} for i in items)
    plays = _plays_of_page(items, songs)
    with transaction.atomic():
        result = plays_store(connection_id=connection.pk, plays=plays, source=PlaySource.API)
        oldest = min((p.played_at for p in plays), default=None)
        if (
            cursor is not None
            and oldest is not None
            and len(items) >= PAGE_MAX_LIMIT
            and oldest > cursor
        ):
            _, report.gap = PlayGap.objects.get_or_create(
                connection_id=connection.pk, start=cursor, end=oldest
            )
    report.inserted, report.duplicates = len(result.inserted), result.duplicates
    newest = plays_cursor(connection.pk)
    report.cursor_after = newest.isoformat() if newest else None
    record_plays(source=PlaySource.API, count=report.inserted)
    if report.gap:
        record_gap()
        logger.warning(
            "library: plays may have been missed for connection %s between %s and %s",
            connection.pk,
            cursor,
            oldest,
            extra={"spotify_connection_id": connection.pk},
        )
    return report
