"""Connecting a Spotify account: start (the one-time state and PKCE), and the callback.

The flow is the authorization-code grant with PKCE (S256) and a one-time ``state`` bound to
the browser session (docs/spotify-api.md). The connection itself is stored by
:func:`spotify_integration.services.connections.connection_upsert`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from core.exceptions import ServiceUnavailable, ValidationFailed
from core.shared_state import CACHE_ERRORS, cache_failed
from spotify_integration.client import (
    SpotifyClient,
    oauth_authorize_url,
    oauth_exchange_code,
    spotify_configured,
)
from spotify_integration.exceptions import (
    SpotifyAccessDenied,
    SpotifyAuthorizationFailed,
    SpotifyNotConfigured,
    SpotifyStateInvalid,
    TokenUndecryptable,
)
from spotify_integration.models import SpotifyConnection
from spotify_integration.services.connections import connection_upsert
from spotify_integration.vault import token_decrypt, token_encrypt

OAUTH_STATE_TTL_SECONDS = 10 * 60
STATE_MAX_LENGTH = 200


def now() -> float:
    """Wall-clock seconds: the one clock a state's expiry is set and checked by (tests move it)."""
    return time.time()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _state_key(state: str) -> str:
    # The cache key holds a hash: even a cache dump does not hand out usable states.
    return f"spotify:oauth_state:{_digest(state)}"


@sensitive_variables("verifier")
def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE (verifier, S256 challenge); the verifier is 86 url-safe characters."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    return verifier, challenge.rstrip("=")


@sensitive_variables("verifier", "state", "session_key")
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
    try:
        cache.set(
            _state_key(state),
            {
                "user_id": user.pk,
                "session": _digest(session_key),
                "verifier": token_encrypt(plaintext=verifier),
                "expires_at": now() + OAUTH_STATE_TTL_SECONDS,
            },
            timeout=OAUTH_STATE_TTL_SECONDS,
        )
    except CACHE_ERRORS as exc:
        cache_failed("the OAuth start", exc)
        raise _state_store_unavailable() from None
    reconnect = SpotifyConnection.objects.filter(user_id=user.pk).exists()
    return oauth_authorize_url(
        state=state,
        code_challenge=challenge,
        scopes=list(settings.SPOTIFY_SCOPES),
        show_dialog=reconnect,
    )


def _state_store_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Connecting Spotify needs the shared cache (Redis), which does not answer; "
        "try again in a few seconds."
    )


def _refuse_state(reason: str, message: str) -> SpotifyStateInvalid:
    return SpotifyStateInvalid(f"state: {message}", detail={"state": reason})


@sensitive_variables("state", "session_key", "record", "verifier")
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
    if len(state) > STATE_MAX_LENGTH:
        raise _refuse_state("unknown", "not recognised; start the Spotify connection again.")
    key = _state_key(state)
    try:
        record = cache.get(key)
        spent = record is not None and cache.delete(key)
    except CACHE_ERRORS as exc:
        cache_failed("the OAuth callback", exc)
        raise _state_store_unavailable() from None
    if record is None or not spent:
        raise _refuse_state(
            "unknown_or_used", "not recognised or already used; start the connection again."
        )
    if record["expires_at"] < now():
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


@sensitive_variables("state", "code", "session_key", "verifier", "grant")
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
