"""A user's Spotify connection and its tokens: create or renew, refreshed tokens, needs-reauth,
disconnect, key rotation.

This module depends on the models, the vault, our exceptions, the refresh guard (invalid_grant
storms) and one constant of the client's accounts module. Its
:class:`ConnectionTokenStore` is the client's ``TokenStore`` over these rows: the client
package receives one and never imports this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from spotify_integration.client.accounts import INVALID_GRANT_REASON
from spotify_integration.exceptions import (
    SpotifyAccountLinkedElsewhere,
    SpotifyAuthorizationFailed,
    SpotifyNotConnected,
    SpotifyReauthRequired,
)
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.refresh_guard import refresh_record_invalid_grant
from spotify_integration.vault import (
    token_decrypt,
    token_encrypt,
    token_is_under_primary_key,
    token_reencrypt,
)

if TYPE_CHECKING:
    from spotify_integration.client.accounts import TokenGrant, TokenInfo

logger = logging.getLogger("encore.spotify")

# An invalid_grant this close to the 6-month end is taken for the expiry (our date is computed
# from the authorization we saw; Spotify's clock and ours may differ by hours).
EXPIRY_SLACK = timedelta(days=1)


def grant_fields(grant: TokenGrant) -> dict[str, Any]:
    """The columns a fresh authorization sets: encrypted tokens, scopes, a new 6 months."""
    return {
        "granted_scopes": sorted(set(grant.scopes)),
        "access_token_encrypted": token_encrypt(plaintext=grant.access_token),
        "refresh_token_encrypted": token_encrypt(plaintext=grant.refresh_token),
        "access_token_expires_at": grant.expires_at,
        "authorized_at": timezone.now(),
        "last_refreshed_at": None,
        "status": ConnectionStatus.ACTIVE,
        "last_error": "",
        "last_error_at": None,
    }


def profile_fields(profile: dict[str, Any]) -> dict[str, Any]:
    """The columns ``/me`` sets; refuses a profile without ``account_id``."""
    account_id = str(profile.get("account_id") or "")
    if not account_id:
        raise SpotifyAuthorizationFailed(
            "Spotify did not say which account this is.", detail={"error": "missing_account_id"}
        )
    return {
        "account_id": account_id[:128],
        "spotify_user_id": str(profile.get("id") or "")[:128],
        "display_name": str(profile.get("display_name") or "")[:300],
        "profile_pending": False,
    }


def connection_link(*, user_id: int, fields: dict[str, Any]) -> tuple[SpotifyConnection, bool]:
    """Write the user's connection for the Spotify account ``fields["account_id"]``.

    The one rule for linking: an account linked to another user is refused
    (SpotifyAccountLinkedElsewhere; the database's unique account_id backs the check). When
    the user's row belongs to a *different* Spotify account, that row is deleted first, with
    everything it owns (its library), so one account's data never hangs off another's
    connection. Call inside a transaction. Returns (connection, created).
    """
    account_id = fields["account_id"]
    taken = SpotifyConnection.objects.filter(account_id=account_id).exclude(user_id=user_id)
    if taken.exists():
        raise SpotifyAccountLinkedElsewhere()
    current = SpotifyConnection.objects.select_for_update().filter(user_id=user_id).first()
    if current is not None and current.account_id not in (None, account_id):
        logger.info(
            "Spotify connection %s of user %s replaced: another Spotify account was connected",
            current.pk,
            user_id,
            extra={"spotify_connection_id": current.pk, "user_id": user_id},
        )
        current.delete()
    try:
        with transaction.atomic():
            return SpotifyConnection.objects.update_or_create(user_id=user_id, defaults=fields)
    except IntegrityError:
        # Another user linked the same account between our check and our write.
        raise SpotifyAccountLinkedElsewhere() from None


@sensitive_variables("grant")
def connection_upsert(
    *, user_id: int, profile: dict[str, Any], grant: TokenGrant
) -> SpotifyConnection:
    """Create or replace the user's connection from a fresh authorization.

    Keyed by ``profile["account_id"]``: a Spotify account linked to another user is refused
    (409) and nothing is written. Reconnecting resets the authorization date (the start of
    the refresh token's 6 months), the status and the last error; connecting a different
    Spotify account replaces the connection (see :func:`connection_link`). Safe to repeat.
    """
    fields = {**profile_fields(profile), **grant_fields(grant)}
    with transaction.atomic():
        connection, created = connection_link(user_id=user_id, fields=fields)
    logger.info(
        "Spotify connection %s for user %s",
        "created" if created else "renewed",
        user_id,
        extra={"spotify_connection_id": connection.pk, "user_id": user_id},
    )
    return connection


# --- Tokens (the client reaches these through ConnectionTokenStore) -------------------------


@sensitive_variables("token_info")
def connection_tokens_save(*, connection_id: int, token_info: TokenInfo) -> None:
    """Store a refreshed token_info (encrypted). Writes only token columns; keeps the old
    refresh token when ``token_info`` has none; a missing/disconnected row is left alone."""
    now = timezone.now()
    updates: dict[str, Any] = {
        "access_token_encrypted": token_encrypt(plaintext=token_info["access_token"]),
        "access_token_expires_at": datetime.fromtimestamp(int(token_info["expires_at"]), tz=UTC),
        "last_refreshed_at": now,
        "last_error": "",
        "last_error_at": None,
        "updated_at": now,
    }
    if token_info.get("refresh_token"):
        updates["refresh_token_encrypted"] = token_encrypt(plaintext=token_info["refresh_token"])
    if isinstance(token_info.get("scope"), str) and token_info["scope"].strip():
        updates["granted_scopes"] = sorted(set(token_info["scope"].split()))
    SpotifyConnection.objects.filter(pk=connection_id, status=ConnectionStatus.ACTIVE).update(
        **updates
    )


def connection_mark_needs_reauth(*, connection_id: int, reason: str) -> None:
    """Permanent failure (invalid_grant): the connection awaits a reconnect, with the reason.

    The access token is dropped; the refresh token's ciphertext is kept (Spotify refuses it,
    so it opens nothing) so that an invalid_grant storm detected a minute later can restore
    the connections it marked first (:func:`connection_invalid_grant`). A reconnect replaces
    it and a disconnect erases it.
    """
    now = timezone.now()
    SpotifyConnection.objects.filter(pk=connection_id).update(
        status=ConnectionStatus.NEEDS_REAUTH,
        access_token_encrypted="",
        access_token_expires_at=None,
        last_error=reason[:1000],
        last_error_at=now,
        updated_at=now,
    )
    logger.warning(
        "Spotify connection %s needs the user to connect again",
        connection_id,
        extra={"spotify_connection_id": connection_id},
    )


def connection_invalid_grant(*, connection_id: int, reason: str) -> bool:
    """Spotify said invalid_grant for this connection. Returns True when it was marked
    needs_reauth; False in an invalid_grant storm (``refresh_guard``), when nothing is marked,
    the tokens are kept, and the connections marked since the window began are restored."""
    row = SpotifyConnection.objects.filter(pk=connection_id).only("authorized_at").first()
    if row is not None and timezone.now() >= row.refresh_token_expires_at - EXPIRY_SLACK:
        # Past (or at) its 6 months: expected, and no evidence of an incident. Many users who
        # connected on one day expire together; they must not look like a storm.
        connection_mark_needs_reauth(
            connection_id=connection_id,
            reason=f"Spotify's 6-month authorization ended ({reason})",
        )
        return True
    if not refresh_record_invalid_grant():
        connection_mark_needs_reauth(connection_id=connection_id, reason=reason)
        return True
    restored = connections_restore_after_storm()
    if restored:
        logger.error(
            "spotify: restored %s connection(s) marked needs_reauth by the invalid_grant storm",
            restored,
            extra={"restored": restored},
        )
    return False


def connections_restore_after_storm() -> int:
    """Reactivate the connections an invalid_grant marked within the storm window, while
    their refresh token is still stored. Returns how many. Safe to repeat."""
    since = timezone.now() - timedelta(seconds=settings.SPOTIFY_INVALID_GRANT_STORM_WINDOW)
    return (
        SpotifyConnection.objects.filter(
            status=ConnectionStatus.NEEDS_REAUTH,
            last_error__startswith=INVALID_GRANT_REASON,
            last_error_at__gte=since,
        )
        .exclude(refresh_token_encrypted="")
        .update(
            status=ConnectionStatus.ACTIVE,
            last_error="Spotify refused many connections at once (an incident); kept.",
            updated_at=timezone.now(),
        )
    )


class ConnectionTokenStore:
    """The client's ``TokenStore`` over ``SpotifyConnection`` rows.

    ``tokens_read`` reads the row every time, so a refresh made by another process is seen at
    once. The token_info it returns holds plaintext tokens: it lives in memory for one call.
    """

    def __repr__(self) -> str:
        return "<ConnectionTokenStore>"

    def tokens_read(self, *, connection_id: int) -> TokenInfo:
        row = (
            SpotifyConnection.objects.filter(pk=connection_id)
            .only(
                "status",
                "access_token_encrypted",
                "refresh_token_encrypted",
                "access_token_expires_at",
                "granted_scopes",
                "authorized_at",
            )
            .first()
        )
        if row is None:
            raise SpotifyNotConnected()
        if row.status != ConnectionStatus.ACTIVE or not row.refresh_token_encrypted:
            raise SpotifyReauthRequired()
        if timezone.now() >= row.refresh_token_expires_at:
            # Spotify no longer accepts it: no call can succeed (connection_health: expired).
            raise SpotifyReauthRequired(
                "Spotify's 6-month authorization of this connection ended; connect again.",
                detail={"reason": "expired"},
            )
        return _token_info(row)

    @sensitive_variables("token_info")
    def tokens_save(self, *, connection_id: int, token_info: TokenInfo) -> None:
        connection_tokens_save(connection_id=connection_id, token_info=token_info)

    def mark_needs_reauth(self, *, connection_id: int, reason: str) -> bool:
        return connection_invalid_grant(connection_id=connection_id, reason=reason)


def _token_info(row: SpotifyConnection) -> TokenInfo:
    expires_at = row.access_token_expires_at
    return {
        "access_token": (
            token_decrypt(ciphertext=row.access_token_encrypted)
            if row.access_token_encrypted
            else ""
        ),
        "refresh_token": token_decrypt(ciphertext=row.refresh_token_encrypted),
        "expires_at": int(expires_at.timestamp()) if expires_at else 0,
        "scope": " ".join(row.granted_scopes or []),
        "token_type": "Bearer",
    }


# --- Disconnect ----------------------------------------------------------------------------


def connection_delete(*, user: AbstractBaseUser, purge: bool = False) -> dict[str, int]:
    """Disconnect: erase the tokens and remove the connection. Repeating it is harmless.

    Returns what was deleted, by kind. The library (playlists, items, plays, gaps, sync state)
    hangs off the connection and goes with it (``on_delete=CASCADE``) whether or not ``purge``
    is set; with ``purge`` those deletions are reported too, by model label.
    """
    with transaction.atomic():
        connections = SpotifyConnection.objects.filter(user_id=user.pk)
        # Erase the ciphertext first: a row kept by a concurrent transaction holds no secret.
        connections.update(access_token_encrypted="", refresh_token_encrypted="")
        _, by_model = connections.delete()
    deleted = {"connections": by_model.get(SpotifyConnection._meta.label, 0)}
    if purge:
        deleted.update(
            {label: n for label, n in by_model.items() if label != SpotifyConnection._meta.label}
        )
    logger.info(
        "Spotify disconnected for user %s (purge=%s)",
        user.pk,
        purge,
        extra={"user_id": user.pk, "deleted": deleted},
    )
    return deleted


# --- Key rotation --------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    already_current: int


def connection_tokens_rotate() -> RotationResult:
    """Re-encrypt every stored token under the first TOKEN_ENCRYPTION_KEYS key.

    Row by row under a row lock, so a concurrent refresh is not overwritten. Idempotent:
    tokens already under the first key are left alone. Raises TokenUndecryptable (naming no
    key) when a token opens under none of the configured keys.
    """
    rotated = current = 0
    ids = list(SpotifyConnection.objects.order_by("pk").values_list("pk", flat=True))
    for connection_id in ids:
        with transaction.atomic():
            row = (
                SpotifyConnection.objects.select_for_update()
                .filter(pk=connection_id)
                .only("access_token_encrypted", "refresh_token_encrypted")
                .first()
            )
            if row is None:
                continue
            changed: list[str] = []
            for field_name in ("access_token_encrypted", "refresh_token_encrypted"):
                ciphertext = getattr(row, field_name)
                if not ciphertext or token_is_under_primary_key(ciphertext=ciphertext):
                    continue
                setattr(row, field_name, token_reencrypt(ciphertext=ciphertext))
                changed.append(field_name)
            if changed:
                row.save(update_fields=changed)
                rotated += 1
            else:
                current += 1
    return RotationResult(rotated=rotated, already_current=current)
