"""A user's link to their Spotify account, with tokens encrypted at rest (see ``vault``)."""

from __future__ import annotations

import calendar
from datetime import datetime

from django.conf import settings
from django.db import models

# Since 20 Jul 2026 Spotify refresh tokens die this many months after the user's original
# authorization, and refreshing does not extend them (see docs/spotify-api.md).
REFRESH_TOKEN_LIFETIME_MONTHS = 6


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months, clamping the day (31 Aug + 6 months = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # invalid_grant (revoked, or past the refresh-token lifetime): only a new connect helps.
    NEEDS_REAUTH = "needs_reauth", "Needs the user to connect again"


class SpotifyConnection(models.Model):
    """One per user. Tokens are Fernet ciphertext; read them only through the client module.

    ``repr()``/``str()`` never include token material, and the admin never shows the columns.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spotify_connection"
    )
    # `/me` -> account_id: the stable, immutable id Spotify asks apps to link accounts on.
    # NULL while the profile is pending (a connect completed during a rate-limit pause): the
    # tokens are stored, and the profile job fills it in (docs/connections.md). Unique, so one
    # Spotify account is never linked to two users; PostgreSQL allows many NULLs.
    account_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    # True until `/me` has been read for this authorization (see ``account_id``).
    profile_pending = models.BooleanField(default=False)
    spotify_user_id = models.CharField(max_length=128, blank=True, default="")
    display_name = models.CharField(max_length=300, blank=True, default="")
    granted_scopes = models.JSONField(default=list, blank=True)
    access_token_encrypted = models.TextField(blank=True, default="", editable=False)
    refresh_token_encrypted = models.TextField(blank=True, default="", editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    # The user's authorization (code exchange) date: the refresh token dies 6 months later.
    authorized_at = models.DateTimeField()
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status"], name="spotify_conn_status_idx")]

    def __str__(self) -> str:
        name = self.display_name or self.account_id or "profile pending"
        return f"{name} (user {self.user_id})"

    def __repr__(self) -> str:
        return f"<SpotifyConnection id={self.pk} user={self.user_id} status={self.status}>"

    @property
    def refresh_token_expires_at(self) -> datetime:
        """When Spotify stops accepting the refresh token: authorization + 6 months."""
        return add_months(self.authorized_at, REFRESH_TOKEN_LIFETIME_MONTHS)

    @property
    def has_access_token(self) -> bool:
        return bool(self.access_token_encrypted)

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token_encrypted)
