"""The accounts service: the app token, user-token refresh and the PKCE code exchange.

spotipy's auth managers make these requests through their public API (``get_access_token``,
``refresh_access_token``, ``get_authorize_url``) and read and write tokens through cache
handlers, the extension point spotipy supports:

* :class:`AppTokenCache`: the app token (client credentials) lives in the Django cache,
  encrypted by the vault, shared by every process, and is renewed when under
  ``TOKEN_EXPIRY_MARGIN_SECONDS`` remain.
* :class:`ConnectionTokenHandler`: a user's tokens live wherever the app keeps them, behind a
  :class:`TokenStore` the caller passes in. This package never imports the app's services.

A user token is refreshed when under 60 s remain (or once after a 401) under a cross-process
lock, with a re-read of the stored tokens, so N concurrent callers cause one token request.
``invalid_grant`` tells the store the connection needs a reconnect and raises
SpotifyReauthRequired (or SpotifyRefreshesPaused when the store holds the mark back in an
invalid_grant storm); it is never retried. No refresh is attempted while refreshes are paused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables
from spotipy.cache_handler import CacheHandler, MemoryCacheHandler
from spotipy.exceptions import SpotifyOauthError
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyPKCE

from spotify_integration.client import http
from spotify_integration.exceptions import (
    SpotifyAppUnauthorized,
    SpotifyAuthorizationFailed,
    SpotifyNotConnected,
    SpotifyRateLimited,
    SpotifyReauthRequired,
    SpotifyRefreshesPaused,
    SpotifyUnavailable,
    TokenUndecryptable,
)
from spotify_integration.metrics import record_spotify_call
from spotify_integration.ratelimit import cache_lock
from spotify_integration.refresh_guard import (
    refresh_check_not_paused,
    refresh_record_ok,
    refreshes_paused_for,
)
from spotify_integration.vault import token_decrypt, token_encrypt

# spotipy logs the Authorization header and token request bodies at DEBUG, and every expected
# 404 at ERROR. We log each call ourselves (metrics), so its own logging stays off whatever
# LOG_LEVEL says.
logging.getLogger("spotipy").setLevel(logging.CRITICAL)

TOKEN_EXPIRY_MARGIN_SECONDS = 60  # refresh when fewer seconds than this remain
# How a connection's last_error starts when Spotify refused its refresh token; the app finds
# the connections an invalid_grant storm marked by it (services.connections).
INVALID_GRANT_REASON = "Spotify refused the refresh token (invalid_grant)"

T = TypeVar("T")

# spotipy's token_info: access_token, expires_at (Unix s), and for users refresh_token, scope
# (space-separated) and token_type. Plaintext tokens: it lives in memory for one call only.
TokenInfo = dict[str, Any]


class TokenStore(Protocol):
    """Where users' tokens are kept; the app implements it over its connection rows."""

    def tokens_read(self, *, connection_id: int) -> TokenInfo:
        """The connection's token_info, read afresh (another process may have refreshed).

        Raises SpotifyNotConnected when the connection is gone, SpotifyReauthRequired when it
        needs the user to connect again.
        """
        ...

    def tokens_save(self, *, connection_id: int, token_info: TokenInfo) -> None:
        """Store a refreshed token_info; keep the old refresh token when it has none."""
        ...

    def mark_needs_reauth(self, *, connection_id: int, reason: str) -> bool:
        """Spotify said invalid_grant: mark the connection as needing a reconnect, keeping
        ``reason``. Returns False when the app holds the mark back because many connections
        are refused at once (an incident): the caller then raises SpotifyRefreshesPaused."""
        ...


def lock_timeout() -> float:
    """Longer than the slowest guarded token request: every attempt timing out plus backoff."""
    return settings.SPOTIFY_REQUEST_TIMEOUT * http.MAX_ATTEMPTS + http.RETRY_BACKOFF_SECONDS * 4 + 5


class InvalidGrant(Exception):
    """The token endpoint said invalid_grant. ``description`` is Spotify's text. Callers turn it
    into one of our errors; it never leaves the package."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@sensitive_variables("call", "result")
def token_request(endpoint: str, call: Callable[[], T], *, retry: bool) -> T:
    """Run one accounts-service request through spotipy, counted and translated.

    ``call`` makes the request; pass a ``functools.partial`` rather than a lambda when it
    needs a secret, so that no frame of ours outside this one holds it.

    Retries 5xx and failures in transit when ``retry`` (not for a single-use authorization
    code). Raises InvalidGrant for ``invalid_grant``, else one of our exceptions.
    """
    attempt = 0
    while True:
        attempt += 1
        http.last_status_reset()
        started = time.perf_counter()
        try:
            result = call()
        except SpotifyOauthError as exc:
            # spotipy raises inside its `except HTTPError`, so the response is the context.
            response = getattr(exc.__context__, "response", None)
            status = getattr(response, "status_code", None)
            record_spotify_call(
                endpoint=endpoint, status=status, duration_ms=http.ms_since(started)
            )
            if status is not None and status >= 500:
                if retry and attempt < http.MAX_ATTEMPTS:
                    http.backoff(attempt)
                    continue
                raise SpotifyUnavailable() from None
            if status == 429:
                raise SpotifyRateLimited(
                    retry_after=http.retry_after(getattr(response, "headers", None)),
                    detail={"reason": "ACCOUNTS_RATE_LIMITED"},
                ) from None
            if exc.error == "invalid_grant":
                raise InvalidGrant(str(exc.error_description or "invalid_grant")[:300]) from None
            if exc.error == "invalid_client":
                raise SpotifyAppUnauthorized() from None
            raise SpotifyAuthorizationFailed(
                detail={"error": str(exc.error or "unknown")[:100]}
            ) from None
        except requests.RequestException as exc:
            record_spotify_call(endpoint=endpoint, status=None, duration_ms=http.ms_since(started))
            if isinstance(exc, http.RETRYABLE_ERRORS) and retry and attempt < http.MAX_ATTEMPTS:
                http.backoff(attempt)
                continue
            raise http.request_error(exc) from None
        record_spotify_call(
            endpoint=endpoint, status=http.last_status() or 200, duration_ms=http.ms_since(started)
        )
        return result


@sensitive_variables("token_info", "reject")
def is_fresh(token_info: TokenInfo | None, reject: str | None) -> bool:
    """A token to hand out: present, not the one Spotify just refused, and not about to expire."""
    return bool(
        token_info
        and token_info.get("access_token")
        and token_info["access_token"] != reject
        and token_info["expires_at"] - time.time() >= TOKEN_EXPIRY_MARGIN_SECONDS
    )


# --- The app token -------------------------------------------------------------------------


class AppTokenCache(CacheHandler):
    """spotipy's store for the client-credentials token: the Django cache, so every process
    shares one app token. The token is encrypted there like every other token."""

    key = "spotify:app_token"

    @sensitive_variables("access_token")
    def get_cached_token(self) -> TokenInfo | None:
        stored = cache.get(self.key)
        if not stored:
            return None
        try:
            access_token = token_decrypt(ciphertext=stored["access_token"])
        except TokenUndecryptable:
            return None  # written under a key since removed: just fetch a new one
        return {"access_token": access_token, "expires_at": stored["expires_at"]}

    @sensitive_variables("token_info")
    def save_token_to_cache(self, token_info: TokenInfo) -> None:
        ttl = int(token_info["expires_at"] - time.time() - TOKEN_EXPIRY_MARGIN_SECONDS)
        cache.set(
            self.key,
            {
                "access_token": token_encrypt(plaintext=token_info["access_token"]),
                "expires_at": int(token_info["expires_at"]),
            },
            timeout=max(ttl, 1),
        )

    def clear(self) -> None:
        cache.delete(self.key)


@sensitive_variables("info", "token", "reject")
def app_access_token(*, reject: str | None = None) -> str:
    """A valid app token, fetched once for all processes when missing or about to expire.

    ``reject`` is a token Spotify just refused (401): never hand that one out again.
    """
    http.require_configured()
    store = AppTokenCache()
    info = store.get_cached_token()
    if info is not None and is_fresh(info, reject):
        return str(info["access_token"])
    with cache_lock("app_token", timeout=lock_timeout(), wait=lock_timeout()):
        info = store.get_cached_token()  # another process may have fetched it meanwhile
        if info is not None and is_fresh(info, reject):
            return str(info["access_token"])
        manager = SpotifyClientCredentials(
            client_id=settings.SPOTIFY_CLIENT_ID,
            client_secret=settings.SPOTIFY_CLIENT_SECRET,
            requests_session=http.session(),
            requests_timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            cache_handler=store,
        )
        manager.OAUTH_TOKEN_URL = http.token_url()  # class attribute upstream; ours per instance
        try:
            token: str = token_request(
                "POST /api/token (client_credentials)",
                lambda: manager.get_access_token(as_dict=False, check_cache=False),
                retry=True,
            )
        except InvalidGrant:
            raise SpotifyAppUnauthorized() from None
        return token


@sensitive_variables("info")
def spotify_app_token_check() -> datetime:
    """Fetch a brand-new app token (ignoring the shared one) and return its expiry.

    Used by ``manage.py spotify_check`` to prove the credentials work. Raises our errors.
    """
    AppTokenCache().clear()
    app_access_token()
    info = AppTokenCache().get_cached_token()
    if info is None:  # pragma: no cover - the cache refused a write: report, don't crash
        raise SpotifyUnavailable("The cache did not keep the app token.")
    return datetime.fromtimestamp(info["expires_at"], tz=UTC)


# --- User tokens ---------------------------------------------------------------------------


class ConnectionTokenHandler(CacheHandler):
    """spotipy's token store for one connection, over the app's :class:`TokenStore`.

    ``get_cached_token`` reads the store every time, so a refresh made by another process is
    seen at once; ``save_token_to_cache`` hands spotipy's result to the store.
    """

    def __init__(self, connection_id: int, store: TokenStore) -> None:
        self.connection_id = connection_id
        self.store = store

    def __repr__(self) -> str:
        return f"<ConnectionTokenHandler connection={self.connection_id}>"

    def usable_token(self) -> TokenInfo:
        """The connection's token_info; raises when the connection is gone or needs a reconnect."""
        return self.store.tokens_read(connection_id=self.connection_id)

    def get_cached_token(self) -> TokenInfo | None:
        try:
            return self.usable_token()
        except (SpotifyNotConnected, SpotifyReauthRequired):
            return None

    @sensitive_variables("token_info")
    def save_token_to_cache(self, token_info: TokenInfo) -> None:
        self.store.tokens_save(connection_id=self.connection_id, token_info=token_info)


def user_auth_manager(handler: CacheHandler) -> SpotifyPKCE:
    """spotipy's manager for the authorization-code flow with PKCE, pointed at our settings."""
    manager = SpotifyPKCE(
        client_id=settings.SPOTIFY_CLIENT_ID,
        redirect_uri=settings.SPOTIFY_REDIRECT_URI,
        scope=settings.SPOTIFY_SCOPES,
        requests_session=http.session(client_auth=True),
        requests_timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
        cache_handler=handler,
        open_browser=False,
    )
    manager.OAUTH_TOKEN_URL = http.token_url()
    manager.OAUTH_AUTHORIZE_URL = http.authorize_url()
    return manager


@sensitive_variables("info", "refresh_token", "new_info", "reject")
def connection_access_token(
    connection_id: int, *, store: TokenStore, reject: str | None = None
) -> str:
    """A valid access token for the connection, refreshing it at most once across processes.

    Callers that find the token fresh return without locking. Otherwise they queue on the
    connection's lock; the first refreshes, the others re-read the store under the lock and use
    its result. ``reject``: a token Spotify just answered 401 for (forces one refresh).
    """
    http.require_configured()
    handler = ConnectionTokenHandler(connection_id, store)
    info = handler.usable_token()
    if is_fresh(info, reject):
        return str(info["access_token"])
    with cache_lock(f"refresh:{connection_id}", timeout=lock_timeout(), wait=lock_timeout()):
        info = handler.usable_token()  # re-read: someone may have refreshed while we waited
        if is_fresh(info, reject):
            return str(info["access_token"])
        refresh_check_not_paused()  # an invalid_grant storm paused every refresh
        manager = user_auth_manager(handler)
        refresh_token = info["refresh_token"]
        try:
            # spotipy keeps the old refresh token when the response has none, then saves
            # through the handler (the store writes the token columns only).
            new_info: TokenInfo = token_request(
                "POST /api/token (refresh_token)",
                partial(manager.refresh_access_token, refresh_token),
                retry=True,
            )
        except InvalidGrant as exc:
            marked = store.mark_needs_reauth(
                connection_id=connection_id,
                reason=f"{INVALID_GRANT_REASON} ({exc.description}).",
            )
            if not marked:
                raise SpotifyRefreshesPaused(retry_after=refresh_paused_or_one()) from None
            raise SpotifyReauthRequired() from None
        refresh_record_ok()
        return str(new_info["access_token"])


def refresh_paused_or_one() -> int:
    """Seconds left of the refresh pause, at least 1 (for Retry-After)."""
    return max(1, refreshes_paused_for())


# --- Connecting a user (authorization code with PKCE) --------------------------------------


@dataclass(frozen=True)
class TokenGrant:
    """The result of a code exchange. Token fields are excluded from repr()."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scopes: list[str]


def oauth_authorize_url(
    *, state: str, code_challenge: str, scopes: list[str], show_dialog: bool = False
) -> str:
    """Spotify's authorize URL for the authorization-code flow with PKCE (S256)."""
    http.require_configured()
    manager = user_auth_manager(MemoryCacheHandler())
    manager.scope = " ".join(scopes)
    manager.code_challenge = code_challenge
    url: str = manager.get_authorize_url(state=state)
    if show_dialog:
        # Lets a reconnecting user pick another Spotify account instead of silently reusing one.
        url += "&" + urlencode({"show_dialog": "true"})
    return url


@sensitive_variables("code", "code_verifier", "info")
def oauth_exchange_code(*, code: str, code_verifier: str) -> TokenGrant:
    """Exchange an authorization code (with its PKCE verifier) for tokens.

    Not retried: a code is single-use. Raises SpotifyAuthorizationFailed when Spotify refuses
    the code or verifier, SpotifyUnavailable on 5xx and failures in transit.
    """
    http.require_configured()
    handler = MemoryCacheHandler()  # the tokens must not outlive this call anywhere but our row
    manager = user_auth_manager(handler)
    manager.code_verifier = code_verifier
    # spotipy regenerates both when either is missing; the challenge itself is not sent here.
    manager.code_challenge = "sent-with-the-authorize-request"
    try:
        token_request(
            "POST /api/token (authorization_code)",
            partial(manager.get_access_token, code=code, check_cache=False),
            retry=False,
        )
    except InvalidGrant:
        raise SpotifyAuthorizationFailed(
            "Spotify refused the authorization code; start again.",
            detail={"error": "invalid_grant"},
        ) from None
    info = handler.get_cached_token()
    if not info or not info.get("access_token") or not info.get("refresh_token"):
        raise SpotifyAuthorizationFailed(detail={"error": "incomplete_token_response"})
    scopes = sorted(set((info.get("scope") or "").split()))
    return TokenGrant(
        access_token=info["access_token"],
        refresh_token=info["refresh_token"],
        expires_at=datetime.fromtimestamp(info["expires_at"], tz=UTC),
        scopes=scopes,
    )
