"""The endpoints this app's mode does not allow, and the memory of the ones Spotify refused.

In ``development`` mode (``SPOTIFY_APP_MODE``) the batch reads and the endpoints Spotify removed
for new apps are never called. In ``extended`` mode they are tried; when Spotify answers 403/404
for one, that is remembered for a day, per process and in the cache (so every process learns
it), and it is not asked again. See docs/spotify-api.md.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("encore.spotify")

# How long an endpoint Spotify refused for the app's mode stays remembered as refused.
DISABLED_ENDPOINT_TTL_SECONDS = 24 * 60 * 60

# Endpoints a development-mode app may not call: the batch reads and the ones Spotify removed
# for new apps on 27 Nov 2024. Keys are the endpoint labels the metrics use.
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


def endpoint_disable(endpoint: str) -> None:
    """Remember that Spotify refused ``endpoint`` for this app's mode (here and in the cache)."""
    logger.warning(
        "Spotify refused %s for this app's mode; not calling it again for %d s",
        endpoint,
        DISABLED_ENDPOINT_TTL_SECONDS,
        extra={"spotify_endpoint": endpoint},
    )
    with _disabled_lock:
        _disabled_here[endpoint] = time.monotonic() + DISABLED_ENDPOINT_TTL_SECONDS
    cache.set(_disabled_key(endpoint), True, timeout=DISABLED_ENDPOINT_TTL_SECONDS)


def endpoint_memory_clear_process() -> None:
    """Forget what this process remembers, keeping the cache: what a new process starts with."""
    with _disabled_lock:
        _disabled_here.clear()


def endpoint_memory_clear() -> None:
    """Forget every endpoint remembered as refused (after an app upgrade to extended quota)."""
    with _disabled_lock:
        endpoints = set(_disabled_here) | MODE_RESTRICTED_ENDPOINTS
        _disabled_here.clear()
    cache.delete_many([_disabled_key(e) for e in endpoints])
