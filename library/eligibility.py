"""Whether a connection's library can be synced now, and if not, why.

The one place the library jobs, the fan-out and ``request_sync`` ask. It only reads the
connection's fields (status, refresh token, authorization date) and the shared pause mark;
deciding those states is the connection lifecycle's business (spotify_integration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.ratelimit import spotify_paused_for

NEEDS_REAUTH = "needs_reauth"
EXPIRED = "expired"
PAUSED = "paused"


@dataclass(frozen=True)
class SyncBlocker:
    reason: str  # needs_reauth | expired | paused
    message: str
    retry_after: int | None = None


def connection_blocker(
    connection: SpotifyConnection, *, now: datetime | None = None
) -> SyncBlocker | None:
    """Why this connection's own state stops a sync (``None``: it does not)."""
    now = now or timezone.now()
    # Expiry first: past its 6 months a connection is "expired" whatever else it shows (a
    # lifecycle that marks it with a status of that name is read the same way).
    if connection.refresh_token_expires_at <= now or connection.status == EXPIRED:
        return SyncBlocker(
            EXPIRED,
            "The Spotify authorization is older than 6 months and has expired: connect again.",
        )
    if connection.status != ConnectionStatus.ACTIVE or not connection.has_refresh_token:
        return SyncBlocker(
            NEEDS_REAUTH, "Spotify no longer accepts this connection: connect again."
        )
    return None


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
