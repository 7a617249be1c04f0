"""The Web API client: the endpoints Encore uses, as the app or as a connected user.

Each call checks the pause mark and the app's mode, takes a slot from the shared budget per
attempt, refreshes the token once on a 401, retries 5xx and failures in transit (see
:mod:`~spotify_integration.client.http`), is counted, and raises only our exceptions.

The requests are plain GETs through our session rather than spotipy's ``Spotify`` class:
spotipy has no public method for an arbitrary path, and its endpoint helpers call paths this
client must not use (``/tracks?ids=`` in development mode, ``/playlists/{id}/tracks``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import requests
from django.views.decorators.debug import sensitive_variables

from core import metrics
from core.exceptions import CACHE_ERRORS, ValidationFailed
from core.parsing import is_spotify_id
from spotify_integration.client import http
from spotify_integration.client.accounts import (
    TokenStore,
    app_access_token,
    connection_access_token,
)
from spotify_integration.client.app_mode import (
    MODE_RESTRICTED_ENDPOINTS,
    endpoint_allowed,
    endpoint_disable,
)
from spotify_integration.exceptions import (
    SpotifyAppUnauthorized,
    SpotifyAuthorizationFailed,
    SpotifyBadRequest,
    SpotifyError,
    SpotifyForbidden,
    SpotifyForbiddenByAppMode,
    SpotifyForbiddenByScope,
    SpotifyNotFound,
    SpotifyRateLimited,
    SpotifyUnavailable,
)
from spotify_integration.metrics import record_spotify_call
from spotify_integration.ratelimit import (
    Lane,
    lane_max_wait,
    spotify_check_not_paused,
    spotify_limiter,
    spotify_pause,
)

if TYPE_CHECKING:
    from spotify_integration.models import SpotifyConnection

TRACKS_BATCH_SIZE = 50
AUDIO_FEATURES_BATCH_SIZE = 100
SEARCH_MAX_LIMIT = 10  # the 2026 cap (default 5)
SEARCH_MAX_OFFSET = 1000
PAGE_MAX_LIMIT = 50

logger = logging.getLogger("encore.spotify")
KNOWN_REASONS = frozenset({"RATE_LIMITED", "QUOTA_EXCEEDED"})  # metric labels stay a fixed set


def _check_id(value: str, field_name: str) -> str:
    if not is_spotify_id(value):
        raise ValidationFailed(f"{field_name}: not a Spotify id", detail={field_name: value})
    return value


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class SpotifyClient:
    """Web API calls as the app (client credentials) or as a connected user.

    Build one with :meth:`for_app`, :meth:`for_connection` or :meth:`for_access_token`.
    Methods return Spotify's JSON (dicts) and raise only our exceptions. ``lane`` is the
    client's place in the shared budget (:class:`~spotify_integration.ratelimit.Lane`): an
    interactive client waits briefly for budget then raises SpotifyRateLimited; library and
    enrichment clients wait up to ``SPOTIFY_BACKGROUND_WAIT`` s.
    """

    def __init__(
        self,
        *,
        connection_id: int | None = None,
        token_store: TokenStore | None = None,
        access_token: str | None = None,
        lane: Lane = Lane.INTERACTIVE,
    ) -> None:
        http.require_configured()
        if connection_id is not None and token_store is None:
            raise TypeError("a connection's client needs the token_store that keeps its tokens")
        self._connection_id = connection_id
        self._token_store = token_store
        self._access_token = access_token
        self._session = http.session()
        self.lane = Lane(lane)

    def __repr__(self) -> str:
        who = f"connection={self._connection_id}" if self._connection_id else "app"
        return f"<SpotifyClient {who} lane={self.lane}>"

    @classmethod
    def for_app(cls, *, lane: Lane = Lane.INTERACTIVE) -> SpotifyClient:
        """A client as the app (client credentials); catalog jobs pass ``Lane.ENRICHMENT``."""
        return cls(lane=lane)

    @classmethod
    def for_connection(
        cls, connection: SpotifyConnection, *, token_store: TokenStore, lane: Lane = Lane.LIBRARY
    ) -> SpotifyClient:
        """A client for the user of ``connection``; ``token_store`` reads, refreshes and
        retires its tokens (the app's ``ConnectionTokenStore``). Library sync by default; a
        request a person waits for passes ``Lane.INTERACTIVE``."""
        return cls(connection_id=connection.pk, token_store=token_store, lane=lane)

    @classmethod
    def for_access_token(cls, access_token: str) -> SpotifyClient:
        """A client for a token fresh from the code exchange (no row yet, so no refresh)."""
        return cls(access_token=access_token)

    # -- plumbing --

    @sensitive_variables("reject")
    def _token(self, *, reject: str | None) -> str:
        if self._access_token is not None:
            if reject == self._access_token:
                raise SpotifyAuthorizationFailed("Spotify refused the new access token.")
            return self._access_token
        if self._connection_id is not None and self._token_store is not None:
            return connection_access_token(
                self._connection_id, store=self._token_store, reject=reject
            )
        return app_access_token(reject=reject)

    @sensitive_variables("token", "reject")
    def _get(self, endpoint: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (relative to SPOTIFY_API_URL). ``endpoint`` labels it for metrics.

        Checks the pause mark and the app's mode, takes a budget slot per attempt, refreshes
        once on a 401, retries 5xx and failures in transit, and raises only our exceptions.
        """
        if not endpoint_allowed(endpoint):
            raise SpotifyForbiddenByAppMode(detail={"endpoint": endpoint})
        attempt = 0
        reject: str | None = None
        while True:
            attempt += 1
            try:
                spotify_check_not_paused()
                grant = spotify_limiter().acquire(max_wait=lane_max_wait(self.lane), lane=self.lane)
                if grant.waited_s > 1:
                    spotify_check_not_paused()  # a 429 elsewhere while we waited for budget
                token = self._token(reject=reject)
            except CACHE_ERRORS as exc:
                # The shared budget, pause mark, token lock and cached app token live in Redis
                # (raw client, or django-redis's cache API): without them no call may go out.
                # Transient (503; jobs retry), not a crash.
                raise SpotifyUnavailable(
                    "Encore's shared Spotify budget (Redis) is unreachable; try again shortly.",
                    detail={"endpoint": endpoint, "cause": type(exc).__name__},
                ) from None
            started = time.perf_counter()
            try:
                response = http.api_get(
                    self._session, path, params=dict(params or {}), access_token=token
                )
            except http.SpotifyHttpError as exc:
                record_spotify_call(
                    endpoint=endpoint, status=exc.status, duration_ms=http.ms_since(started)
                )
                if exc.status == 401 and reject is None:
                    reject = token  # refresh (or re-fetch the app token) once, then retry
                    attempt -= 1  # a 401 is not a transient-failure attempt
                    continue
                if exc.status >= 500 and attempt < http.MAX_ATTEMPTS:
                    http.backoff(attempt)
                    continue
                raise self._translate(exc, endpoint) from None
            except requests.RequestException as exc:
                record_spotify_call(
                    endpoint=endpoint, status=None, duration_ms=http.ms_since(started)
                )
                if isinstance(exc, http.RETRYABLE_ERRORS) and attempt < http.MAX_ATTEMPTS:
                    http.backoff(attempt)
                    continue
                raise http.request_error(exc, detail={"endpoint": endpoint}) from None
            record_spotify_call(
                endpoint=endpoint, status=response.status_code, duration_ms=http.ms_since(started)
            )
            try:
                return response.json()
            except requests.JSONDecodeError as exc:  # a 2xx whose body is not JSON
                raise http.request_error(exc, detail={"endpoint": endpoint}) from None

    def _translate(
        self, exc: http.SpotifyHttpError, endpoint: str
    ) -> SpotifyError | SpotifyRateLimited:
        status = exc.status
        detail = {"endpoint": endpoint, "status": status}
        if status == 429:
            retry_after = http.retry_after(exc.headers)
            reason = exc.reason or "RATE_LIMITED"
            spotify_pause(retry_after=retry_after)
            logger.warning(
                "spotify %s -> 429 (%s): every process pauses Spotify calls for %s s",
                endpoint,
                reason,
                retry_after,
                extra={"spotify_endpoint": endpoint, "retry_after": retry_after, "reason": reason},
            )
            metrics.record_pause(reason=reason if reason in KNOWN_REASONS else "OTHER")
            return SpotifyRateLimited(retry_after=retry_after, detail={**detail, "reason": reason})
        if status == 401:
            if self._connection_id is not None and self._token_store is not None:
                # A 401 right after a refresh Spotify granted says nothing about the refresh
                # token (Spotify has answered this way in incidents and while a new token
                # propagates): transient, and the connection and its tokens are kept.
                logger.warning(
                    "spotify %s -> 401 again after a successful refresh: treated as transient",
                    endpoint,
                    extra={
                        "spotify_endpoint": endpoint,
                        "spotify_connection_id": self._connection_id,
                    },
                )
                return SpotifyUnavailable(
                    "Spotify refused a freshly refreshed access token; try again shortly.",
                    detail={**detail, "reason": "UNAUTHORIZED_AFTER_REFRESH"},
                )
            if self._access_token is not None:
                return SpotifyAuthorizationFailed("Spotify refused the new access token.")
            return SpotifyAppUnauthorized()
        if status in (403, 404) and endpoint in MODE_RESTRICTED_ENDPOINTS:
            endpoint_disable(endpoint)
            return SpotifyForbiddenByAppMode(detail=detail)
        if status == 403:
            if "scope" in str(exc.message).lower():
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
