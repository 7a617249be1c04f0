"""DRF permission for endpoints that need the user's Spotify connection."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from spotify_integration.exceptions import (
    SpotifyMissingScopes,
    SpotifyNotConnected,
    SpotifyReauthRequired,
)
from spotify_integration.models import SpotifyConnection
from spotify_integration.selectors import (
    connection_get_for_user,
    connection_health,
    connection_missing_scopes,
    reconnect_url,
)


def connection_require_scopes(*, connection: SpotifyConnection, scopes: Iterable[str]) -> None:
    """Raise ``spotify_scope_missing`` (403, listing them) unless every scope was granted.

    For views whose scopes depend on their input (``POST /api/spotify/me/sync/``).
    """
    missing = connection_missing_scopes(connection=connection, required=scopes)
    if missing:
        raise SpotifyMissingScopes(reconnect_url=reconnect_url(), missing_scopes=missing)


class HasSpotifyConnection(BasePermission):
    """Requires a signed-in user with a usable Spotify connection holding the needed scopes.

    The view may set ``required_spotify_scopes`` (default: SPOTIFY_SCOPES). Each failure is a
    403 with its own code: ``spotify_not_connected``; ``spotify_reauth_required`` when
    ``connection_health`` says the user must connect again (``needs_reauth`` or ``expired``,
    with ``state`` and ``reason``); ``spotify_scope_missing`` with ``missing_scopes``.
    Each detail carries ``reconnect_url``. The connection is left on
    ``request.spotify_connection``. Unauthenticated requests get DRF's usual answer.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        connection = connection_get_for_user(user=request.user)
        if connection is None:
            raise SpotifyNotConnected(reconnect_url=reconnect_url())
        health = connection_health(connection)
        if not health.usable:
            raise SpotifyReauthRequired(
                reconnect_url=reconnect_url(),
                detail={"state": health.state, "reason": health.reason},
            )
        required: Iterable[str] = getattr(view, "required_spotify_scopes", settings.SPOTIFY_SCOPES)
        connection_require_scopes(connection=connection, scopes=required)
        # DRF's Request takes extra attributes; the view reads this one.
        request.spotify_connection = connection  # type: ignore[attr-defined]
        return True
