"""Reads for the Spotify integration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone

from spotify_integration.client import spotify_configured
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.ratelimit import spotify_paused_for

HealthState = Literal["active", "expiring", "expired", "needs_reauth", "profile_pending"]
# States in which Spotify can no longer be called for the user until they connect again.
HEALTH_STATES_NEEDING_CONNECT: frozenset[str] = frozenset({"expired", "needs_reauth"})


@dataclass(frozen=True)
class ConnectionHealth:
    """Where a connection stands in its lifecycle (docs/connections.md "States").

    ``state``: ``needs_reauth`` (Spotify refused it, or no refresh token is left),
    ``expired`` (past the refresh token's 6 months), ``profile_pending`` (connected during a
    rate-limit pause; ``/me`` not read yet), ``expiring`` (fewer than
    SPOTIFY_EXPIRY_WARNING_DAYS days left), or ``active``. ``reason`` is a sentence for
    people (empty when active). ``expires_at``: when the refresh token dies.
    """

    state: HealthState
    reason: str
    expires_at: datetime

    @property
    def usable(self) -> bool:
        """The tokens are good: Spotify may be called for this connection."""
        return self.state not in HEALTH_STATES_NEEDING_CONNECT

    @property
    def can_sync(self) -> bool:
        """Library jobs may run: usable and the account is known (not ``profile_pending``,
        whose tokens may belong to another account than the row's until ``/me`` answers)."""
        return self.state in ("active", "expiring")


def connection_health(
    connection: SpotifyConnection, *, now: datetime | None = None
) -> ConnectionHealth:
    """The one rule for a connection's state, used by the status API, the /spotify/ page, the
    admin and the library jobs. Ordered: needs_reauth, expired, profile_pending, expiring."""
    moment = now or timezone.now()
    expires_at = connection.refresh_token_expires_at
    if connection.status != ConnectionStatus.ACTIVE or not connection.has_refresh_token:
        reason = connection.last_error or "Spotify no longer accepts this connection."
        return ConnectionHealth("needs_reauth", f"{reason} Connect again.", expires_at)
    if moment >= expires_at:
        return ConnectionHealth(
            "expired",
            f"Spotify's 6-month authorization ended on {expires_at:%Y-%m-%d}. Connect again.",
            expires_at,
        )
    if connection.profile_pending:
        return ConnectionHealth(
            "profile_pending",
            "Connected; Spotify asked Encore to pause, so your profile is read when the "
            "pause ends.",
            expires_at,
        )
    warning = timedelta(days=settings.SPOTIFY_EXPIRY_WARNING_DAYS)
    if expires_at - moment <= warning:
        days = max(0, (expires_at - moment).days)
        return ConnectionHealth(
            "expiring",
            f"Spotify's 6-month authorization ends on {expires_at:%Y-%m-%d} (in {days} days); "
            "connect again before then to keep syncing.",
            expires_at,
        )
    return ConnectionHealth("active", "", expires_at)


def reconnect_url() -> str:
    """Where a user (or a browser) goes to connect or reconnect: GET redirects to Spotify."""
    return reverse("spotify:connect")


def connection_get_for_user(*, user: AbstractBaseUser) -> SpotifyConnection | None:
    return SpotifyConnection.objects.filter(user_id=user.pk).first()


def connection_missing_scopes(
    *, connection: SpotifyConnection, required: Iterable[str] | None = None
) -> list[str]:
    """Scopes in ``required`` (default SPOTIFY_SCOPES) that the user did not grant."""
    wanted = settings.SPOTIFY_SCOPES if required is None else required
    granted = set(connection.granted_scopes or [])
    return sorted(set(wanted) - granted)


def connection_status(*, user: AbstractBaseUser) -> dict[str, Any]:
    """Everything the status endpoint and the /spotify/ page show. Never token values."""
    connection = connection_get_for_user(user=user)
    base: dict[str, Any] = {
        "configured": spotify_configured(),
        "app_mode": settings.SPOTIFY_APP_MODE,
        "paused_for_seconds": spotify_paused_for(),
        "reconnect_url": reconnect_url(),
        "required_scopes": sorted(settings.SPOTIFY_SCOPES),
    }
    if connection is None:
        return {
            **base,
            "connected": False,
            "status": None,
            "account_id": None,
            "spotify_user_id": None,
            "display_name": None,
            "granted_scopes": [],
            "missing_scopes": sorted(settings.SPOTIFY_SCOPES),
            "authorized_at": None,
            "access_token_expires_at": None,
            "refresh_token_expires_at": None,
            "refresh_token_expired": False,
            "last_refreshed_at": None,
            "last_error": None,
            "last_error_at": None,
            "state": None,
            "state_reason": None,
            "profile_pending": False,
        }
    health = connection_health(connection)
    return {
        **base,
        "connected": True,
        "status": connection.status,
        "account_id": connection.account_id,
        "spotify_user_id": connection.spotify_user_id or None,
        "display_name": connection.display_name or None,
        "granted_scopes": sorted(connection.granted_scopes or []),
        "missing_scopes": connection_missing_scopes(connection=connection),
        "authorized_at": connection.authorized_at,
        "access_token_expires_at": connection.access_token_expires_at,
        "refresh_token_expires_at": connection.refresh_token_expires_at,
        "refresh_token_expired": health.state == "expired",
        "last_refreshed_at": connection.last_refreshed_at,
        "last_error": connection.last_error or None,
        "last_error_at": connection.last_error_at,
        "state": health.state,
        "state_reason": health.reason or None,
        "profile_pending": connection.profile_pending,
    }
