"""The one module that talks to Spotify (and the only one that imports spotipy).

Contracts every caller can rely on:

* **Only our exceptions leave this module.** Every spotipy/requests failure becomes a
  :mod:`spotify_integration.exceptions` error with a code (rate limited, unavailable, not found,
  forbidden by scope / by the app's mode, reconnect required, ...).
* **Timeouts everywhere.** Every request, API or accounts service, has
  ``SPOTIFY_REQUEST_TIMEOUT``.
* **Retries are ours, bounded, and only for what is transient.** spotipy and urllib3 never
  retry (their default list contains 429, and urllib3 then sleeps for the whole Retry-After,
  which can be hours). We retry 5xx and network errors ``MAX_ATTEMPTS - 1`` times with
  exponential backoff; each attempt takes its own slot from the shared budget.
* **A 429 is never slept on.** It sets the shared "paused until" mark and raises
  :class:`SpotifyRateLimited` with Retry-After at once. Every call checks the mark first.
* **A shared budget.** Every Web API call takes a slot from the Redis-backed limiter
  (``SPOTIFY_RATE_LIMIT_CALLS`` per rolling 30 s); over budget it waits at most
  ``SPOTIFY_RATE_LIMIT_WAIT`` seconds, then raises :class:`SpotifyRateLimited`.
* **The app's mode.** In ``development`` mode the batch and removed endpoints are never called
  (single-item calls replace batches). When Spotify answers 403/404 for such an endpoint in
  ``extended`` mode, that is remembered (per process and in the cache) and not asked again.
* **Every HTTP request is counted** (see :mod:`spotify_integration.metrics`).
* **Tokens.** The app token (client credentials) is shared by all processes through the cache,
  encrypted, and renewed when under 60 s remain. User tokens live encrypted on
  ``SpotifyConnection``; spotipy reads and writes them through :class:`ConnectionTokenHandler`.
  A refresh happens when under 60 s remain and once on a 401, under a cross-process lock with a
  re-read of the row, so N concurrent callers cause one token request. ``invalid_grant`` marks
  the connection ``needs_reauth`` and raises :class:`SpotifyReauthRequired`; it is never retried.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache
from spotipy import Spotify
from spotipy.cache_handler import CacheHandler, MemoryCacheHandler
from spotipy.exceptions import SpotifyException, SpotifyOauthError
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyPKCE

from core.exceptions import ValidationFailed
from spotify_integration.exceptions import (
    SpotifyAppUnauthorized,
    SpotifyAuthorizationFailed,
    SpotifyBadRequest,
    SpotifyError,
    SpotifyForbidden,
    SpotifyForbiddenByAppMode,
    SpotifyForbiddenByScope,
    SpotifyNotConfigured,
    SpotifyNotConnected,
    SpotifyNotFound,
    SpotifyRateLimited,
    SpotifyReauthRequired,
    SpotifyUnavailable,
    TokenUndecryptable,
)
from spotify_integration.metrics import count_spotify_calls, record_spotify_call
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.ratelimit import (
    cache_lock,
    spotify_check_not_paused,
    spotify_limiter,
    spotify_pause,
)
from spotify_integration.vault import token_decrypt, token_encrypt

__all__ = [
    "ConnectionTokenHandler",
    "SpotifyClient",
    "TokenGrant",
    "count_spotify_calls",
    "endpoint_memory_clear",
    "oauth_authorize_url",
    "oauth_exchange_code",
    "spotify_app_token_check",
    "spotify_configured",
]

logger = logging.getLogger("encore.spotify")

# spotipy logs the Authorization header and token request bodies at DEBUG, and every expected
# 404 at ERROR. We log each call ourselves (metrics), so its own logging stays off whatever
# LOG_LEVEL says.
logging.getLogger("spotipy").setLevel(logging.CRITICAL)

MAX_ATTEMPTS = 3  # first try + 2 retries, for 5xx and network errors only
RETRY_BACKOFF_SECONDS = 0.5  # doubled per retry, with jitter; tests set it to 0
TOKEN_EXPIRY_MARGIN_SECONDS = 60  # refresh when fewer seconds than this remain
DEFAULT_RETRY_AFTER_SECONDS = 5  # a 429 without Retry-After (should not happen)
# How long an endpoint Spotify refused for the app's mode stays remembered as refused.
DISABLED_ENDPOINT_TTL_SECONDS = 24 * 60 * 60

# Endpoints a development-mode app may not call (SPOTIFY.md): batch reads and the ones Spotify
# removed for new apps on 27 Nov 2024. Keys are the endpoint labels the metrics use.
BATCH_ENDPOINTS = frozenset({"GET /tracks", "GET /albums", "GET /artists"})
REMOVED_ENDPOINTS = frozenset(
    {
        "GET /audio-features",
        "GET /audio-analysis/{id}",
        "GET /recommendations",
        "GET /artists/{id}/related-artists",
    }
)
MODE_RESTRICTED_ENDPOINTS = BATCH_ENDPOINTS | REMOVED_ENDPOINTS
TRACKS_BATCH_SIZE = 50
AUDIO_FEATURES_BATCH_SIZE = 100
SEARCH_MAX_LIMIT = 10  # the 2026 cap (default 5)
SEARCH_MAX_OFFSET = 1000
PAGE_MAX_LIMIT = 50

_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")

T = TypeVar("T")


def spotify_configured() -> bool:
    """True when the app credentials are set; the integration is off otherwise."""
    return bool(settings.SPOTIFY_CLIENT_ID and settings.SPOTIFY_CLIENT_SECRET)


def _require_configured() -> None:
    if not spotify_configured():
        raise SpotifyNotConfigured()


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _token_url() -> str:
    return _with_slash(settings.SPOTIFY_ACCOUNTS_URL) + "api/token"


def _authorize_endpoint() -> str:
    return _with_slash(settings.SPOTIFY_ACCOUNTS_URL) + "authorize"


# --- HTTP plumbing -------------------------------------------------------------------------

_last_status = threading.local()


def _remember_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    # spotipy returns parsed JSON only; this hook lets the metrics record the real status.
    _last_status.value = response.status_code


def _session(*, client_auth: bool = False) -> requests.Session:
    """A session with no automatic retries (requests' default adapter: Retry(0, read=False)).

    ``client_auth`` adds HTTP Basic client authentication: we are a confidential client, so
    the code exchange and refreshes authenticate the app as well as proving PKCE.
    """
    session = requests.Session()
    session.hooks["response"].append(_remember_status)
    if client_auth:
        session.auth = (settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
    return session


def _backoff(attempt: int) -> None:
    # attempt is 1 for the first retry; full jitter keeps processes from retrying in lockstep.
    if RETRY_BACKOFF_SECONDS > 0:
        delay = RETRY_BACKOFF_SECONDS * (2 ** (attempt - 1))
        time.sleep(delay / 2 + (delay / 2) * (time.monotonic_ns() % 1000) / 1000)


def _retry_after(headers: Any) -> int:
    raw = (headers or {}).get("Retry-After") if headers is not None else None
    try:
        return max(1, int(float(raw)))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


def _lock_timeout() -> float:
    # Longer than the slowest guarded token request: every attempt timing out plus backoff.
    return settings.SPOTIFY_REQUEST_TIMEOUT * MAX_ATTEMPTS + RETRY_BACKOFF_SECONDS * 4 + 5


# --- The accounts service ------------------------------------------------------------------


class _InvalidGrant(Exception):
    """Internal: the token endpoint said invalid_grant. ``description`` is Spotify's text."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def _token_request(endpoint: str, call: Callable[[], T], *, retry: bool) -> T:
    """Run one accounts-service request through spotipy, counted and translated.

    Retries 5xx/network failures when ``retry`` (not for a single-use authorization code).
    Raises _InvalidGrant for ``invalid_grant``, else one of our exceptions.
    """
    attempt = 0
    while True:
        attempt += 1
        _last_status.value = None
        started = time.perf_counter()
        try:
            result = call()
        except SpotifyOauthError as exc:
            # spotipy raises inside its `except HTTPError`, so the response is the context.
            response = getattr(exc.__context__, "response", None)
            status = getattr(response, "status_code", None)
            record_spotify_call(endpoint=endpoint, status=status, duration_ms=_ms_since(started))
            if status is not None and status >= 500:
                if retry and attempt < MAX_ATTEMPTS:
                    _backoff(attempt)
                    continue
                raise SpotifyUnavailable() from None
            if status == 429:
                raise SpotifyRateLimited(
                    retry_after=_retry_after(getattr(response, "headers", None)),
                    detail={"reason": "ACCOUNTS_RATE_LIMITED"},
                ) from None
            if exc.error == "invalid_grant":
                raise _InvalidGrant(str(exc.error_description or "invalid_grant")[:300]) from None
            if exc.error == "invalid_client":
                raise SpotifyAppUnauthorized() from None
            raise SpotifyAuthorizationFailed(
                detail={"error": str(exc.error or "unknown")[:100]}
            ) from None
        except (requests.Timeout, requests.ConnectionError):
            record_spotify_call(endpoint=endpoint, status=None, duration_ms=_ms_since(started))
            if retry and attempt < MAX_ATTEMPTS:
                _backoff(attempt)
                continue
            raise SpotifyUnavailable() from None
        record_spotify_call(
            endpoint=endpoint, status=_last_status.value or 200, duration_ms=_ms_since(started)
        )
        return result


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class _AppTokenCache(CacheHandler):
    """spotipy's store for the client-credentials token: the Django cache, so every process
    shares one app token. The token is encrypted there like every other token."""

    key = "spotify:app_token"

    def get_cached_token(self) -> dict[str, Any] | None:
        stored = cache.get(self.key)
        if not stored:
            return None
        try:
            access_token = token_decrypt(ciphertext=stored["access_token"])
        except TokenUndecryptable:
            return None  # written under a key since removed: just fetch a new one
        return {"access_token": access_token, "expires_at": stored["expires_at"]}

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
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


def _is_fresh(token_info: dict[str, Any] | None, reject: str | None) -> bool:
    return bool(
        token_info
        and token_info.get("access_token")
        and token_info["access_token"] != reject
        and token_info["expires_at"] - time.time() >= TOKEN_EXPIRY_MARGIN_SECONDS
    )


def _app_access_token(*, reject: str | None = None) -> str:
    """A valid app token, fetched once for all processes when missing or about to expire.

    ``reject`` is a token Spotify just refused (401): never hand that one out again.
    """
    _require_configured()
    store = _AppTokenCache()
    info = store.get_cached_token()
    if _is_fresh(info, reject):
        return info["access_token"]  # type: ignore[index]
    with cache_lock("app_token", timeout=_lock_timeout(), wait=_lock_timeout()):
        info = store.get_cached_token()  # another process may have fetched it meanwhile
        if _is_fresh(info, reject):
            return info["access_token"]  # type: ignore[index]
        manager = SpotifyClientCredentials(
            client_id=settings.SPOTIFY_CLIENT_ID,
            client_secret=settings.SPOTIFY_CLIENT_SECRET,
            requests_session=_session(),
            requests_timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            cache_handler=store,
        )
        manager.OAUTH_TOKEN_URL = _token_url()  # class attribute upstream; ours per instance
        try:
            return _token_request(
                "POST /api/token (client_credentials)",
                lambda: manager.get_access_token(as_dict=False, check_cache=False),
                retry=True,
            )
        except _InvalidGrant:
            raise SpotifyAppUnauthorized() from None


def spotify_app_token_check() -> datetime:
    """Fetch a brand-new app token (ignoring the shared one) and return its expiry.

    Used by ``manage.py spotify_check`` to prove the credentials work. Raises our errors.
    """
    _AppTokenCache().clear()
    _app_access_token()
    info = _AppTokenCache().get_cached_token()
    if info is None:  # pragma: no cover - the cache refused a write: report, don't crash
        raise SpotifyUnavailable("The cache did not keep the app token.")
    return datetime.fromtimestamp(info["expires_at"], tz=UTC)


# --- User tokens ---------------------------------------------------------------------------


class ConnectionTokenHandler(CacheHandler):
    """spotipy's token store for one ``SpotifyConnection`` row.

    ``get_cached_token`` re-reads the row every time, so a refresh made by another process is
    seen at once; ``save_token_to_cache`` writes only the token columns (via the service).
    token_info dicts hold plaintext tokens: they live only in memory for one call.
    """

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id

    def __repr__(self) -> str:
        return f"<ConnectionTokenHandler connection={self.connection_id}>"

    def _row(self) -> dict[str, Any] | None:
        return (
            SpotifyConnection.objects.filter(pk=self.connection_id)
            .values(
                "status",
                "access_token_encrypted",
                "refresh_token_encrypted",
                "access_token_expires_at",
                "granted_scopes",
            )
            .first()
        )

    def usable_token(self) -> dict[str, Any]:
        """The row's token_info; raises when the connection is gone or needs a reconnect."""
        row = self._row()
        if row is None:
            raise SpotifyNotConnected()
        if row["status"] != ConnectionStatus.ACTIVE or not row["refresh_token_encrypted"]:
            raise SpotifyReauthRequired()
        expires_at = row["access_token_expires_at"]
        return {
            "access_token": (
                token_decrypt(ciphertext=row["access_token_encrypted"])
                if row["access_token_encrypted"]
                else ""
            ),
            "refresh_token": token_decrypt(ciphertext=row["refresh_token_encrypted"]),
            "expires_at": int(expires_at.timestamp()) if expires_at else 0,
            "scope": " ".join(row["granted_scopes"] or []),
            "token_type": "Bearer",
        }

    def get_cached_token(self) -> dict[str, Any] | None:
        try:
            return self.usable_token()
        except (SpotifyNotConnected, SpotifyReauthRequired):
            return None

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        from spotify_integration.services import connection_tokens_save

        connection_tokens_save(connection_id=self.connection_id, token_info=token_info)


def _user_auth_manager(handler: CacheHandler) -> SpotifyPKCE:
    manager = SpotifyPKCE(
        client_id=settings.SPOTIFY_CLIENT_ID,
        redirect_uri=settings.SPOTIFY_REDIRECT_URI,
        scope=settings.SPOTIFY_SCOPES,
        requests_session=_session(client_auth=True),
        requests_timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
        cache_handler=handler,
        open_browser=False,
    )
    manager.OAUTH_TOKEN_URL = _token_url()
    manager.OAUTH_AUTHORIZE_URL = _authorize_endpoint()
    return manager


def _connection_access_token(connection_id: int, *, reject: str | None = None) -> str:
    """A valid access token for the connection, refreshing it at most once across processes.

    Callers that find the token fresh return without locking. Otherwise they queue on the
    connection's lock; the first refreshes, the others re-read the row under the lock and use
    its result. ``reject``: a token Spotify just answered 401 for (forces one refresh).
    """
    _require_configured()
    handler = ConnectionTokenHandler(connection_id)
    info = handler.usable_token()
    if _is_fresh(info, reject):
        return info["access_token"]
    with cache_lock(f"refresh:{connection_id}", timeout=_lock_timeout(), wait=_lock_timeout()):
        info = handler.usable_token()  # re-read: someone may have refreshed while we waited
        if _is_fresh(info, reject):
            return info["access_token"]
        manager = _user_auth_manager(handler)
        refresh_token = info["refresh_token"]
        try:
            # spotipy keeps the old refresh token when the response has none, then saves
            # through the handler (one UPDATE of the token columns).
            new_info = _token_request(
                "POST /api/token (refresh_token)",
                lambda: manager.refresh_access_token(refresh_token),
                retry=True,
            )
        except _InvalidGrant as exc:
            from spotify_integration.services import connection_mark_needs_reauth

            connection_mark_needs_reauth(
                connection_id=connection_id,
                reason=f"Spotify refused the refresh token (invalid_grant: {exc.description}).",
            )
            raise SpotifyReauthRequired() from None
        return new_info["access_token"]


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
    _require_configured()
    manager = _user_auth_manager(MemoryCacheHandler())
    manager.scope = " ".join(scopes)
    manager.code_challenge = code_challenge
    url = manager.get_authorize_url(state=state)
    if show_dialog:
        # Lets a reconnecting user pick another Spotify account instead of silently reusing one.
        url += "&" + urlencode({"show_dialog": "true"})
    return url


def oauth_exchange_code(*, code: str, code_verifier: str) -> TokenGrant:
    """Exchange an authorization code (with its PKCE verifier) for tokens.

    Not retried: a code is single-use. Raises SpotifyAuthorizationFailed when Spotify refuses
    the code or verifier, SpotifyUnavailable on 5xx/network failures.
    """
    _require_configured()
    handler = MemoryCacheHandler()  # the tokens must not outlive this call anywhere but our row
    manager = _user_auth_manager(handler)
    manager.code_verifier = code_verifier
    # spotipy regenerates both when either is missing; the challenge itself is not sent here.
    manager.code_challenge = "sent-with-the-authorize-request"
    try:
        _token_request(
            "POST /api/token (authorization_code)",
            lambda: manager.get_access_token(code=code, check_cache=False),
            retry=False,
        )
    except _InvalidGrant:
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


# --- Endpoints the app's mode does not allow -----------------------------------------------

_disabled_lock = threading.Lock()
_disabled_here: dict[str, float] = {}  # endpoint -> time.monotonic() until which it is refused


def _disabled_key(endpoint: str) -> str:
    return f"spotify:endpoint_disabled:{endpoint}"


def endpoint_allowed(endpoint: str) -> bool:
    """Whether the client may call ``endpoint`` (a label like "GET /tracks") at all."""
    if endpoint not in MODE_RESTRICTED_ENDPOINTS:
        return True
    if settings.SPOTIFY_APP_MODE == "development":
        return False
    with _disabled_lock:
        until = _disabled_here.get(endpoint)
    if until is not None and until > time.monotonic():
        return False
    if cache.get(_disabled_key(endpoint)):
        with _disabled_lock:
            _disabled_here[endpoint] = time.monotonic() + DISABLED_ENDPOINT_TTL_SECONDS
        return False
    return True


def _endpoint_disable(endpoint: str) -> None:
    logger.warning(
        "Spotify refused %s for this app's mode; not calling it again for %d s",
        endpoint,
        DISABLED_ENDPOINT_TTL_SECONDS,
        extra={"spotify_endpoint": endpoint},
    )
    with _disabled_lock:
        _disabled_here[endpoint] = time.monotonic() + DISABLED_ENDPOINT_TTL_SECONDS
    cache.set(_disabled_key(endpoint), True, timeout=DISABLED_ENDPOINT_TTL_SECONDS)


def endpoint_memory_clear() -> None:
    """Forget every endpoint remembered as refused (after an app upgrade to extended quota)."""
    with _disabled_lock:
        endpoints = set(_disabled_here) | MODE_RESTRICTED_ENDPOINTS
        _disabled_here.clear()
    cache.delete_many([_disabled_key(e) for e in endpoints])


# --- The Web API client --------------------------------------------------------------------


def _check_id(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not _SPOTIFY_ID.match(value):
        raise ValidationFailed(f"{field_name}: not a Spotify id", detail={field_name: value})
    return value


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class SpotifyClient:
    """Web API calls as the app (client credentials) or as a connected user.

    Build one with :meth:`for_app`, :meth:`for_connection` or :meth:`for_access_token`.
    Methods return Spotify's JSON (dicts) and raise only our exceptions.
    """

    def __init__(
        self, *, connection_id: int | None = None, access_token: str | None = None
    ) -> None:
        _require_configured()
        self._connection_id = connection_id
        self._access_token = access_token
        self._sp = Spotify(
            requests_session=_session(),
            requests_timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            # Belt and braces: our session has no urllib3 Retry at all, and 429 is not here.
            status_forcelist=(500, 502, 503, 504),
            retries=0,
            status_retries=0,
        )
        self._sp.prefix = _with_slash(settings.SPOTIFY_API_URL)

    def __repr__(self) -> str:
        who = f"connection={self._connection_id}" if self._connection_id else "app"
        return f"<SpotifyClient {who}>"

    @classmethod
    def for_app(cls) -> SpotifyClient:
        return cls()

    @classmethod
    def for_connection(cls, connection: SpotifyConnection) -> SpotifyClient:
        return cls(connection_id=connection.pk)

    @classmethod
    def for_access_token(cls, access_token: str) -> SpotifyClient:
        """A client for a token fresh from the code exchange (no row yet, so no refresh)."""
        return cls(access_token=access_token)

    # -- plumbing --

    def _token(self, *, reject: str | None) -> str:
        if self._access_token is not None:
            if reject == self._access_token:
                raise SpotifyAuthorizationFailed("Spotify refused the new access token.")
            return self._access_token
        if self._connection_id is not None:
            return _connection_access_token(self._connection_id, reject=reject)
        return _app_access_token(reject=reject)

    def _get(self, endpoint: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (relative to SPOTIFY_API_URL). ``endpoint`` labels it for metrics.

        Checks the pause mark and the app's mode, takes a budget slot per attempt, refreshes
        once on a 401, retries 5xx/network failures, and raises only our exceptions.
        """
        if not endpoint_allowed(endpoint):
            raise SpotifyForbiddenByAppMode(detail={"endpoint": endpoint})
        attempt = 0
        reject: str | None = None
        while True:
            attempt += 1
            spotify_check_not_paused()
            spotify_limiter().acquire(max_wait=settings.SPOTIFY_RATE_LIMIT_WAIT)
            token = self._token(reject=reject)
            self._sp.set_auth(token)
            _last_status.value = None
            started = time.perf_counter()
            try:
                result = self._sp._get(path, args=dict(params or {}))
            except SpotifyException as exc:
                status = exc.http_status
                record_spotify_call(
                    endpoint=endpoint, status=status, duration_ms=_ms_since(started)
                )
                if status == 401 and reject is None:
                    reject = token  # refresh (or re-fetch the app token) once, then retry
                    attempt -= 1  # a 401 is not a transient-failure attempt
                    continue
                if status >= 500 and attempt < MAX_ATTEMPTS:
                    _backoff(attempt)
                    continue
                raise self._translate(exc, endpoint) from None
            except (requests.Timeout, requests.ConnectionError):
                record_spotify_call(endpoint=endpoint, status=None, duration_ms=_ms_since(started))
                if attempt < MAX_ATTEMPTS:
                    _backoff(attempt)
                    continue
                raise SpotifyUnavailable(detail={"endpoint": endpoint}) from None
            record_spotify_call(
                endpoint=endpoint, status=_last_status.value or 200, duration_ms=_ms_since(started)
            )
            return result

    def _translate(self, exc: SpotifyException, endpoint: str) -> SpotifyError | SpotifyRateLimited:
        status = exc.http_status
        detail = {"endpoint": endpoint, "status": status}
        if status == 429:
            retry_after = _retry_after(exc.headers)
            spotify_pause(retry_after=retry_after)
            return SpotifyRateLimited(
                retry_after=retry_after,
                detail={**detail, "reason": exc.reason or "RATE_LIMITED"},
            )
        if status == 401:
            if self._connection_id is not None:
                from spotify_integration.services import connection_mark_needs_reauth

                connection_mark_needs_reauth(
                    connection_id=self._connection_id,
                    reason="Spotify refused a freshly refreshed access token (401).",
                )
                return SpotifyReauthRequired()
            if self._access_token is not None:
                return SpotifyAuthorizationFailed("Spotify refused the new access token.")
            return SpotifyAppUnauthorized()
        if status in (403, 404) and endpoint in MODE_RESTRICTED_ENDPOINTS:
            _endpoint_disable(endpoint)
            return SpotifyForbiddenByAppMode(detail=detail)
        if status == 403:
            if "scope" in str(exc.msg).lower():
                return SpotifyForbiddenByScope(detail=detail)
            return SpotifyForbidden(detail=detail)
        if status == 404:
            return SpotifyNotFound(detail=detail)
        if status >= 500:
            return SpotifyUnavailable(detail=detail)
        return SpotifyBadRequest(detail=detail)

    # -- the endpoints Encore uses --

    def me(self) -> dict[str, Any]:
        """``GET /me``: the user's profile; ``account_id`` is the id to link on."""
        return self._get("GET /me", "me")

    def track(self, track_id: str) -> dict[str, Any]:
        return self._get("GET /tracks/{id}", f"tracks/{_check_id(track_id, 'track_id')}")

    def tracks(self, track_ids: list[str]) -> list[dict[str, Any] | None]:
        """Tracks in the order asked; None where Spotify has no such track.

        Extended mode uses ``GET /tracks?ids=`` (50 a call) until Spotify refuses it for the
        app; development mode (or after such a refusal) makes one ``GET /tracks/{id}`` each.
        """
        ids = [_check_id(t, "track_ids") for t in track_ids]
        if not ids:
            return []
        if endpoint_allowed("GET /tracks"):
            try:
                found: list[dict[str, Any] | None] = []
                for chunk in _chunks(ids, TRACKS_BATCH_SIZE):
                    found.extend(
                        self._get("GET /tracks", "tracks", {"ids": ",".join(chunk)})["tracks"]
                    )
                return found
            except SpotifyForbiddenByAppMode:
                pass  # remembered by _get; fall through to single calls
        result: list[dict[str, Any] | None] = []
        for track_id in ids:
            try:
                result.append(self.track(track_id))
            except SpotifyNotFound:
                result.append(None)
        return result

    def search_tracks(self, *, query: str, limit: int = 10, offset: int = 0) -> dict[str, Any]:
        """``GET /search?type=track``; returns the ``tracks`` paging object.

        ``limit`` is clamped to 1..10 and ``offset`` to 0..1000 (the 2026 caps).
        """
        if not query or not query.strip():
            raise ValidationFailed("query: must not be empty", detail={"query": query})
        params = {
            "q": query,
            "type": "track",
            "limit": max(1, min(limit, SEARCH_MAX_LIMIT)),
            "offset": max(0, min(offset, SEARCH_MAX_OFFSET)),
        }
        return self._get("GET /search", "search", params).get("tracks") or {"items": []}

    def audio_features(self, track_ids: list[str]) -> list[dict[str, Any] | None]:
        """Audio features, only for extended-quota apps that still have the endpoint.

        Raises SpotifyForbiddenByAppMode in development mode (without calling) or once
        Spotify has refused it for this app.
        """
        ids = [_check_id(t, "track_ids") for t in track_ids]
        features: list[dict[str, Any] | None] = []
        for chunk in _chunks(ids, AUDIO_FEATURES_BATCH_SIZE):
            body = self._get("GET /audio-features", "audio-features", {"ids": ",".join(chunk)})
            features.extend(body["audio_features"])
        return features

    def current_user_playlists(self, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """``GET /me/playlists`` (a paging object)."""
        return self._get(
            "GET /me/playlists",
            "me/playlists",
            {"limit": max(1, min(limit, PAGE_MAX_LIMIT)), "offset": max(0, offset)},
        )

    def playlist_items(
        self, *, playlist_id: str, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        """``GET /playlists/{id}/items`` (``/tracks`` is gone; each item's track is ``item``).

        Development mode: only playlists the user owns or collaborates on (else 403).
        """
        return self._get(
            "GET /playlists/{id}/items",
            f"playlists/{_check_id(playlist_id, 'playlist_id')}/items",
            {"limit": max(1, min(limit, PAGE_MAX_LIMIT)), "offset": max(0, offset)},
        )

    def recently_played(
        self, *, limit: int = 50, after: int | None = None, before: int | None = None
    ) -> dict[str, Any]:
        """``GET /me/player/recently-played``; ``after``/``before`` are Unix ms, not both.

        Only the 50 most recent plays exist: poll with ``after`` often enough.
        """
        if after is not None and before is not None:
            raise ValidationFailed("after: give either after or before, not both")
        params: dict[str, Any] = {"limit": max(1, min(limit, PAGE_MAX_LIMIT))}
        if after is not None:
            params["after"] = int(after)
        if before is not None:
            params["before"] = int(before)
        return self._get("GET /me/player/recently-played", "me/player/recently-played", params)
