"""The one package that talks to Spotify (and the only one that imports spotipy).

Contracts every caller can rely on:

* **Only our exceptions leave this package.** Every spotipy/requests failure becomes a
  :mod:`spotify_integration.exceptions` error with a code (rate limited, unavailable, not found,
  forbidden by scope / by the app's mode, reconnect required, ...).
* **Timeouts everywhere.** Every request, API or accounts service, has
  ``SPOTIFY_REQUEST_TIMEOUT``.
* **Retries are ours, bounded, and only for what is transient.** spotipy and urllib3 never
  retry. We retry 5xx and failures in transit ``MAX_ATTEMPTS - 1`` times with exponential
  backoff; each attempt takes its own slot from the shared budget.
* **A 429 is never slept on.** It sets the shared "paused until" mark and raises
  :class:`SpotifyRateLimited` with Retry-After at once. Every call checks the mark first.
* **A shared budget, in lanes.** Every Web API call takes a slot from the Redis-backed
  limiter (``SPOTIFY_RATE_LIMIT_CALLS`` per rolling ``SPOTIFY_RATE_LIMIT_WINDOW``) in its
  client's lane: interactive first, library second, enrichment with what they leave (see
  :class:`~spotify_integration.ratelimit.Lane`). Over budget an interactive call waits at most
  ``SPOTIFY_RATE_LIMIT_WAIT`` seconds, a job's call ``SPOTIFY_BACKGROUND_WAIT``, then raises
  :class:`SpotifyRateLimited`.
* **The app's mode.** In ``development`` mode the batch and removed endpoints are never called
  (single-item calls replace batches). When Spotify answers 403/404 for such an endpoint in
  ``extended`` mode, that is remembered (per process and in the cache) and not asked again.
* **Every HTTP request is counted** (see :mod:`spotify_integration.metrics`).
* **Tokens.** The app token is shared by all processes through the cache, encrypted. User
  tokens are kept by the app behind a :class:`TokenStore` the caller passes in
  (``spotify_integration.services.connections.ConnectionTokenStore``); this package imports
  no app service. Refreshes are single-flight across processes; ``invalid_grant`` raises
  :class:`SpotifyReauthRequired` and is never retried (in an invalid_grant storm the store
  holds the mark back and :class:`SpotifyRefreshesPaused` is raised; while refreshes are
  paused none is attempted: :mod:`spotify_integration.refresh_guard`). A second 401 right
  after a successful refresh is transient (:class:`SpotifyUnavailable`), never a reason to
  drop the connection.

Modules, lowest first: :mod:`.http` (sessions, timeouts, retry policy, Retry-After),
:mod:`.app_mode` (the endpoints the app's mode refuses), :mod:`.accounts` (tokens, PKCE),
:mod:`.api` (:class:`SpotifyClient`). The facts about Spotify they rely on are in
docs/spotify-api.md.
"""

from __future__ import annotations

from spotify_integration.client.accounts import (
    ConnectionTokenHandler,
    TokenGrant,
    TokenInfo,
    TokenStore,
    oauth_authorize_url,
    oauth_exchange_code,
    spotify_app_token_check,
)
from spotify_integration.client.api import SpotifyClient
from spotify_integration.client.app_mode import endpoint_memory_clear
from spotify_integration.client.http import spotify_configured
from spotify_integration.metrics import count_spotify_calls

__all__ = [
    "ConnectionTokenHandler",
    "SpotifyClient",
    "TokenGrant",
    "TokenInfo",
    "TokenStore",
    "count_spotify_calls",
    "endpoint_memory_clear",
    "oauth_authorize_url",
    "oauth_exchange_code",
    "spotify_app_token_check",
    "spotify_configured",
]
