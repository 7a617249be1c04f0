"""A circuit breaker shared by every process through Django's cache (Redis in production).

After ``failures`` failures (errors or timeouts) within ``window`` seconds with no success
between them, the breaker *opens* for ``open_seconds``: every process asks :meth:`allow` and
gets False, so nobody waits on an outside system that is down. Then it is *half open*: the
first caller to claim the probe (an atomic ``cache.add``) is let through, the others still
get False; the probe's success closes the breaker, its failure opens it again. A probe that
never reports (its process died) frees the claim after ``open_seconds``.

The state lives in three cache keys per breaker, so a breaker instance holds no state of its
own: two instances on the same cache (two processes) see the same breaker. A cache that
fails makes the breaker fail *closed* (calls are allowed): the breaker protects the request
from Spotify, it must not become a second way to fail it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from core.metrics import record_breaker_transition

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True)
class BreakerState:
    state: str
    failures: int
    opened_at: float | None  # epoch seconds
    retry_at: float | None  # when a probe may go (open), epoch seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "failures": self.failures,
            "opened_at": self.opened_at,
            "retry_at": self.retry_at,
        }


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int, window: float, open_seconds: float) -> None:
        self.name = name
        self.failures = failures
        self.window = window
        self.open_seconds = open_seconds
        self._failures_key = f"breaker:{name}:failures"
        self._opened_key = f"breaker:{name}:opened_at"
        self._probe_key = f"breaker:{name}:probe"

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name}>"

    def _opened_at(self) -> float | None:
        value = cache.get(self._opened_key)
        return None if value is None else float(value)

    def state(self) -> BreakerState:
        """The shared state, for /healthz and tests; never raises (unknown: closed)."""
        try:
            opened = self._opened_at()
            failures = int(cache.get(self._failures_key) or 0)
        except Exception:  # the cache is down: report what allow() does, closed
            return BreakerState(CLOSED, 0, None, None)
        if opened is None:
            return BreakerState(CLOSED, failures, None, None)
        retry_at = opened + self.open_seconds
        state = OPEN if time.time() < retry_at else HALF_OPEN
        return BreakerState(state, failures, opened, retry_at)

    def allow(self) -> bool:
        """May this caller call now? True when closed, or when it is the half-open probe."""
        try:
            opened = self._opened_at()
            if opened is None:
                return True
            if time.time() < opened + self.open_seconds:
                return False
            # Half open: one probe for every process; it reports through success/failure.
            return bool(cache.add(self._probe_key, "1", timeout=max(1, int(self.open_seconds))))
        except Exception:
            logger.warning("breaker %s: cache unreachable, allowing the call", self.name)
            return True

    def success(self) -> None:
        """The call worked: a probe closes the breaker; a run of failures is broken."""
        try:
            was_open = self._opened_at() is not None
            cache.delete_many([self._failures_key, self._opened_key, self._probe_key])
        except Exception:
            logger.warning("breaker %s: cache unreachable on success", self.name)
            return
        if was_open:
            logger.info("breaker %s closed", self.name)
            record_breaker_transition(breaker=self.name, state=CLOSED)

    def failure(self) -> None:
        """The call failed or timed out: count it; open on the threshold or a failed probe."""
        try:
            opened = self._opened_at()
            if opened is not None:
                if time.time() >= opened + self.open_seconds:  # the probe failed: open again
                    self._open()
                return
            # The window starts at the first failure of a run (add keeps an existing count).
            cache.add(self._failures_key, 0, timeout=max(1, int(self.window)))
            try:
                count = cache.incr(self._failures_key)
            except ValueError:  # expired between add and incr
                cache.set(self._failures_key, 1, timeout=max(1, int(self.window)))
                count = 1
            if count >= self.failures:
                self._open()
        except Exception:
            logger.warning("breaker %s: cache unreachable on failure", self.name)

    def _open(self) -> None:
        # Kept well past the open period: the half-open state is "opened_at is old".
        cache.set(self._opened_key, time.time(), timeout=None)
        cache.delete_many([self._probe_key, self._failures_key])
        logger.warning("breaker %s opened for %.0f s", self.name, self.open_seconds)
        record_breaker_transition(breaker=self.name, state=OPEN)

    def reset(self) -> None:
        """Forget everything (tests, and an operator who knows the system is back)."""
        cache.delete_many([self._failures_key, self._opened_key, self._probe_key])


def spotify_breaker() -> CircuitBreaker:
    """The breaker of hybrid search's Spotify leg (``SEARCH_SPOTIFY_BREAKER_*`` settings)."""
    from django.conf import settings

    return CircuitBreaker(
        "spotify",
        failures=settings.SEARCH_SPOTIFY_BREAKER_FAILURES,
        window=settings.SEARCH_SPOTIFY_BREAKER_WINDOW,
        open_seconds=settings.SEARCH_SPOTIFY_BREAKER_OPEN_SECONDS,
    )
