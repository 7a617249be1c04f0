"""Reads for the Spotify integration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone

from spotify_integration.client import spotify_configured
from spotify_integration.models import SpotifyConnection
from spotify_integration.ratelimit import spotify_paused_for


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
        }
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
        "refresh_token_expired": connection.refresh_token_expires_at <= timezone.now(),
        "last_refreshed_at": connection.last_refreshed_at,
        "last_error": connection.last_error or None,
        "last_error_at": connection.last_error_at,
    }
