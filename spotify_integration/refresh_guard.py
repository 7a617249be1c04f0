"""Telling one user's dead grant from a Spotify incident (docs/connections.md "Storms").

Spotify answers ``invalid_grant`` when a user revoked Encore or the refresh token's 6 months
are over: that connection needs the user to connect again. When many connections get it
within minutes, Spotify itself is more likely at fault (a peer lost every user's tokens in
such an incident): then we stop marking connections, pause every refresh for
``SPOTIFY_REFRESH_STORM_PAUSE_SECONDS`` and alert, and the tokens are kept.

The figures are shared by every process through the cache (Redis): per-minute counters of
refreshes and of invalid_grants, summed over the last ``SPOTIFY_INVALID_GRANT_STORM_WINDOW``
seconds (whole minutes), and a pause mark holding its end time. This module decides nothing
about rows; :mod:`spotify_integration.services.connections` does.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from core import metrics
from spotify_integration.exceptions import SpotifyRefreshesPaused

logger = logging.getLogger("encore.spotify")

BUCKET_SECONDS = 60
_PAUSE_KEY = "spotify:refresh:paused_until"


def _now() -> float:
    return time.time()


def _bucket(kind: str, moment: float) -> str:
    return f"spotify:refresh:{kind}:{int(moment // BUCKET_SECONDS)}"


def _window_buckets() -> int:
    return max(1, math.ceil(settings.SPOTIFY_INVALID_GRANT_STORM_WINDOW / BUCKET_SECONDS))


def _count(kind: str) -> int:
    """Bump this minute's counter of ``kind`` (``refresh`` or ``invalid``); atomic in Redis."""
    key = _bucket(kind, _now())
    ttl = (_window_buckets() + 1) * BUCKET_SECONDS
    cache.add(key, 0, timeout=ttl)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr: start again
        cache.add(key, 1, timeout=ttl)
        return 1


def _window_sum(kind: str) -> int:
    minute = int(_now() // BUCKET_SECONDS)
    keys = [
        f"spotify:refresh:{kind}:{m}" for m in range(minute - _window_buckets() + 1, minute + 1)
    ]
    return sum(int(v) for v in cache.get_many(keys).values())


@dataclass(frozen=True)
class RefreshFigures:
    """Refresh outcomes (successes and invalid_grants) and invalid_grants in the window."""

    refreshed: int
    invalid: int


def refresh_figures() -> RefreshFigures:
    return RefreshFigures(refreshed=_window_sum("refresh"), invalid=_window_sum("invalid"))


def refresh_record_ok() -> None:
    """A refresh Spotify granted (counts towards the storm ratio's denominator)."""
    _count("refresh")
    metrics.record_token_refresh(outcome="ok")


def refresh_record_invalid_grant() -> bool:
    """Count an ``invalid_grant``; True when it makes (or falls inside) a storm.

    A storm: at least SPOTIFY_INVALID_GRANT_STORM_MIN invalid_grants, and at least
    SPOTIFY_INVALID_GRANT_STORM_RATIO of the refreshes, within the window. Starting one pauses
    refreshes, logs at ERROR and counts ``storm`` in the metrics.
    """
    if refreshes_paused_for() > 0:
        metrics.record_token_refresh(outcome="paused")
        return True
    _count("refresh")
    _count("invalid")
    figures = refresh_figures()
    storm = (
        figures.invalid >= settings.SPOTIFY_INVALID_GRANT_STORM_MIN
        and figures.invalid >= settings.SPOTIFY_INVALID_GRANT_STORM_RATIO * figures.refreshed
    )
    if not storm:
        metrics.record_token_refresh(outcome="invalid_grant")
        return False
    seconds = settings.SPOTIFY_REFRESH_STORM_PAUSE_SECONDS
    refresh_pause(seconds=seconds)
    metrics.record_token_refresh(outcome="storm")
    logger.error(
        "spotify: %s of %s token refreshes got invalid_grant within %s s: treating it as a "
        "Spotify incident; refreshes paused for %s s, connections not marked, tokens kept",
        figures.invalid,
        figures.refreshed,
        settings.SPOTIFY_INVALID_GRANT_STORM_WINDOW,
        seconds,
        extra={"invalid_grants": figures.invalid, "refreshes": figures.refreshed},
    )
    return True


def refresh_pause(*, seconds: int) -> None:
    """Pause every user's token refresh for ``seconds`` (a storm, or an operator)."""
    cache.set(_PAUSE_KEY, _now() + seconds, timeout=seconds + 1)


def refreshes_paused_for() -> int:
    """Whole seconds refreshes stay paused (0 when they are not)."""
    until = cache.get(_PAUSE_KEY)
    remaining = float(until) - _now() if until else 0.0
    return math.ceil(remaining) if remaining > 0 else 0


def refresh_pause_clear() -> None:
    """Lift the refresh pause (an operator who knows the incident is over, or tests)."""
    cache.delete(_PAUSE_KEY)


def refresh_check_not_paused() -> None:
    """Raise SpotifyRefreshesPaused (a rate limit with Retry-After) while refreshes are paused."""
    remaining = refreshes_paused_for()
    if remaining > 0:
        metrics.record_token_refresh(outcome="paused")
        raise SpotifyRefreshesPaused(retry_after=remaining)
