"""Whether a connection's library can be synced now, and if not, why.

The one place the library jobs, the fan-out and ``request_sync`` ask. The connection's own state
is the lifecycle's ``connection_health`` (spotify_integration); the shared pause mark is read
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spotify_integration.models import SpotifyConnection
from spotify_integration.ratelimit import spotify_paused_for
from spotify_integration.selectors import connection_health

PAUSED = "paused"


@dataclass(frozen=True)
class SyncBlocker:
    reason: str  # needs_reauth | expired | profile_pending | paused
    message: str
    retry_after: int | None = None


def connection_blocker(
    connection: SpotifyConnection, *, now: datetime | None = None
) -> SyncBlocker | None:
    """Why this connection's own state stops a sync (``None``: it does not).

    The state is :func:`~spotify_integration.selectors.connection_health`'s, the one rule the
    status API, the page and the admin show: only ``active`` and ``expiring`` connections sync
    (``needs_reauth``, ``expired`` and ``profile_pending`` do not; the reason is the state).
    """
    health = connection_health(connection, now=now)
    if health.can_sync:
        return None
    return SyncBlocker(health.state, health.reason)


def pause_blocker() -> SyncBlocker | None:
    """The shared pause after a Spotify 429, for every connection at once."""
    remaining = spotify_paused_for()
    if remaining > 0:
        return SyncBlocker(
            PAUSED, f"Spotify asked Encore to pause for {remaining} s.", retry_after=remaining
        )
    return None


def sync_blocker(
    connection: SpotifyConnection, *, now: datetime | None = None
) -> SyncBlocker | None:
    """Why ``connection`` cannot be synced now, or ``None`` when it can."""
    return connection_blocker(connection, now=now) or pause_blocker()
