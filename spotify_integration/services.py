"""Writes for the Spotify integration: the OAuth flow, connection tokens, disconnect, rotation.

Views, admin actions and commands call these; none of them holds the rules.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ValidationFailed
from spotify_integration.client import (
    SpotifyClient,
    TokenGrant,
    oauth_authorize_url,
    oauth_exchange_code,
    spotify_configured,
)
from spotify_integration.exceptions import (
    SpotifyAccessDenied,
    SpotifyAccountLinkedElsewhere,
    SpotifyAuthorizationFailed,
    SpotifyNotConfigured,
    SpotifyStateInvalid,
    TokenUndecryptable,
)
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.vault import (
    token_decrypt,
    token_encrypt,
    token_is_under_primary_key,
    token_reencrypt,
)

logger = logging.getLogger("encore.spotify")

OAUTH_STATE_TTL_SECONDS = 10 * 60
_STATE_MAX_LENGTH = 200


def _now() -> float:
    """Wall-clock seconds; one place for tests to move time."""
    return time.time()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _state_key(state: str) -> str:
    # The cache key holds a hash: even a cache dump does not hand out usable states.
    return f"spotify:oauth_state:{_digest(state)}"


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE (verifier, S256 challenge); the verifier is 86 url-safe characters."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    return verifier, challenge.rstrip("=")


# --- Connect -------------------------------------------------------------------------------


def oauth_start(*, user: AbstractBaseUser, session_key: str) -> str:
    """Begin a connect: store a one-time state bound to the session and verifier; return the
    Spotify authorize URL.

    The state lives server-side (the cache) for 10 minutes, keyed by its hash, holding the user,
    a hash of the session key, and the PKCE verifier encrypted by the vault. A user who is
    already connected gets Spotify's account chooser (``show_dialog``).
    """
    if not spotify_configured():
        raise SpotifyNotConfigured()  # before storing a state nobody can ever use
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    cache.set(
        _state_key(state),
        {
            "user_id": user.pk,
            "session": _digest(session_key),
            "verifier": token_encrypt(plaintext=verifier),
            "expires_at": _now() + OAUTH_STATE_TTL_SECONDS,
        },
        timeout=OAUTH_STATE_TTL_SECONDS,
    )
    reconnect = SpotifyConnection.objects.filter(user_id=user.pk).exists()
    return oauth_authorize_url(
        state=state,
        code_challenge=challenge,
        scopes=list(settings.SPOTIFY_SCOPES),
        show_dialog=reconnect,
    )


def _refuse_state(reason: str, message: str) -> SpotifyStateInvalid:
    return SpotifyStateInvalid(f"state: {message}", detail={"state": reason})


def _oauth_state_consume(
    *, state: str | None, session_key: str | None, user: AbstractBaseUser | AnonymousUser
) -> tuple[int, str]:
    """Spend ``state`` (single use even when refused) and return (user id, PKCE verifier).

    Refuses a missing, unknown, reused, expired or other-session state with
    SpotifyStateInvalid. Single use is enforced by the cache delete: of two concurrent
    callbacks presenting the same state only one delete succeeds.
    """
    if not state:
        raise _refuse_state("missing", "missing; start the Spotify connection again.")
    if len(state) > _STATE_MAX_LENGTH:
        raise _refuse_state("unknown", "not recognised; start the Spotify connection again.")
    key = _state_key(state)
    record = cache.get(key)
    if record is None or not cache.delete(key):
        raise _refuse_state(
            "unknown_or_used", "not recognised or already used; start the connection again."
        )
    if record["expires_at"] < _now():
        raise _refuse_state("expired", "expired (10 minutes); start the connection again.")
    if not session_key or not hmac.compare_digest(record["session"], _digest(session_key)):
        raise _refuse_state("other_session", "was issued to another browser session.")
    if user.is_authenticated and user.pk != record["user_id"]:
        raise _refuse_state("other_session", "was issued to another user.")
    try:
        verifier = token_decrypt(ciphertext=record["verifier"])
    except TokenUndecryptable:
        raise _refuse_state("unknown", "not recognised; start the connection again.") from None
    return record["user_id"], verifier


def oauth_complete(
    *,
    user: AbstractBaseUser | AnonymousUser,
    session_key: str | None,
    state: str | None,
    code: str | None,
    error: str | None,
) -> SpotifyConnection:
    """Finish a connect from Spotify's redirect and store the connection.

    Order matters: the state is checked (and spent) before anything else, so a refused
    callback stores nothing and never reaches Spotify. Then ``error`` (``access_denied``: the
    user declined), the code exchange with the PKCE verifier, ``/me``, and the upsert keyed by
    Spotify's ``account_id``. Raises SpotifyStateInvalid, SpotifyAccessDenied,
    SpotifyAuthorizationFailed, SpotifyAccountLinkedElsewhere, or a client error.
    """
    user_id, verifier = _oauth_state_consume(state=state, session_key=session_key, user=user)
    if error:
        if error == "access_denied":
            raise SpotifyAccessDenied()
        raise SpotifyAuthorizationFailed(detail={"error": error[:100]})
    if not code:
        raise ValidationFailed("code: missing from Spotify's redirect.", detail={"code": "missing"})
    grant = oauth_exchange_code(code=code, code_verifier=verifier)
    profile = SpotifyClient.for_access_token(grant.access_token).me()
    return connection_upsert(user_id=user_id, profile=profile, grant=grant)


def connection_upsert(
    *, user_id: int, profile: dict[str, Any], grant: TokenGrant
) -> SpotifyConnection:
    """Create or replace the user's connection from a fresh authorization.

    Keyed by ``profile["account_id"]``: a Spotify account linked to another user is refused
    (409) and nothing is written. Reconnecting resets the authorization date (the start of
    the refresh token's 6 months), the status and the last error. Safe to repeat.
    """
    account_id = str(profile.get("account_id") or "")
    if not account_id:
        raise SpotifyAuthorizationFailed(
            "Spotify did not say which account this is.", detail={"error": "missing_account_id"}
        )
    now = timezone.now()
    defaults = {
        "account_id": account_id,
        "spotify_user_id": str(profile.get("id") or "")[:128],
        "display_name": str(profile.get("display_name") or "")[:300],
        "granted_scopes": sorted(set(grant.scopes)),
        "access_token_encrypted": token_encrypt(plaintext=grant.access_token),
        "refresh_token_encrypted": token_encrypt(plaintext=grant.refresh_token),
        "access_token_expires_at": grant.expires_at,
        "authorized_at": now,
        "last_refreshed_at": None,
        "status": ConnectionStatus.ACTIVE,
        "last_error": "",
        "last_error_at": None,
    }
    try:
        with transaction.atomic():
            taken = (
                SpotifyConnection.objects.filter(account_id=account_id)
                .exclude(user_id=user_id)
                .exists()
            )
            if taken:
                raise SpotifyAccountLinkedElsewhere()
            connection, created = SpotifyConnection.objects.update_or_create(
                user_id=user_id, defaults=defaults
            )
    except IntegrityError:
        # Another user linked the same account between our check and our write.
        raise SpotifyAccountLinkedElsewhere() from None
    logger.info(
        "Spotify connection %s for user %s",
        "created" if created else "renewed",
        user_id,
        extra={"spotify_connection_id": connection.pk, "user_id": user_id},
    )
    return connection


# --- Tokens (called by the client's ConnectionTokenHandler) ---------------------------------


def connection_tokens_save(*, connection_id: int, token_info: dict[str, Any]) -> None:
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
    """Permanent failure (invalid_grant): drop the tokens, keep the reason, await a reconnect."""
    now = timezone.now()
    SpotifyConnection.objects.filter(pk=connection_id).update(
        status=ConnectionStatus.NEEDS_REAUTH,
        access_token_encrypted="",
        # A refused refresh token is dead; keeping the ciphertext would only keep a secret.
        refresh_token_encrypted="",
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


# --- Disconnect ----------------------------------------------------------------------------


def connection_delete(*, user: AbstractBaseUser, purge: bool = False) -> dict[str, int]:
    """Disconnect: erase the tokens and remove the connection. Repeating it is harmless.

    ``purge`` also deletes the user's stored Spotify data. Today the connection row is the
    only Spotify data Encore stores per user; the playlist and play models, when they arrive,
    must be deleted here too (they hang off the connection, so they go with it already).
    Returns what was deleted, by kind.
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
