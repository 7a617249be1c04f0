"""The shared cache (Redis) failing: what counts as its failure, and a short per-process memo.

Code that can do without the shared state (a throttle, the Spotify pause shown on a status
page) catches ``CACHE_ERRORS``, calls ``cache_failed`` and carries on; while
``cache_recently_failed()`` it skips the cache altogether, so a hung Redis costs one socket
timeout (``CACHE_SOCKET_TIMEOUT``) per process every few seconds, not one per call. Code that
cannot (the OAuth state) raises ``ServiceUnavailable``: a 503 with ``Retry-After``.
"""

from __future__ import annotations

import logging
import threading
import time

from core.exceptions import CACHE_ERRORS

__all__ = [
    "CACHE_ERRORS",
    "cache_failed",
    "cache_failure_reset",
    "cache_recently_failed",
    "service_failed",
    "service_recently_failed",
]
logger = logging.getLogger(__name__)

# Seconds a process skips the cache after it failed (then the next call tries again).
SKIP_SECONDS = 5.0

_lock = threading.Lock()
_skip_until: dict[str, float] = {}
_LABELS = {"cache": "shared cache (Redis)", "broker": "job broker"}


def service_failed(service: str, what: str, exc: Exception) -> None:
    """Record a failure of ``service`` ("cache" or "broker"; logged once per skip period) and
    skip it for ``SKIP_SECONDS``."""
    with _lock:
        first = time.monotonic() >= _skip_until.get(service, 0.0)
        _skip_until[service] = time.monotonic() + SKIP_SECONDS
    if first:
        logger.warning(
            "%s unavailable during %s: %s; going on without it for %.0f s",
            _LABELS.get(service, service),
            what,
            type(exc).__name__,
            SKIP_SECONDS,
        )


def service_recently_failed(service: str) -> bool:
    return time.monotonic() < _skip_until.get(service, 0.0)


def cache_failed(what: str, exc: Exception) -> None:
    service_failed("cache", what, exc)


def cache_recently_failed() -> bool:
    return service_recently_failed("cache")


def cache_failure_reset() -> None:
    """Forget the memos (tests)."""
    with _lock:
        _skip_until.clear()
