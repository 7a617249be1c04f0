"""Cross-process coordination for Spotify: the shared rate budget, the pause mark, and locks.

Spotify counts calls per *app* over a rolling 30 s window, so every web process and worker
must share one budget. With Redis (``REDIS_URL``; the django-redis cache backend) the state
lives in Redis and is changed by Lua scripts, which Redis runs atomically, timed by Redis's
own clock so machines with skewed clocks still agree. Without Redis (the embedded default:
one process, local-memory cache) the same contracts hold inside the process.

Every key goes through ``cache.make_key`` so it carries the cache ``KEY_PREFIX``: parallel
test workers (and several deployments on one Redis) never share a budget.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from spotify_integration.exceptions import SpotifyRateLimited, SpotifyUnavailable

# Spotify's window (not configurable on their side); the bench scales it down explicitly.
SPOTIFY_WINDOW_SECONDS = 30.0


def redis_client() -> Any | None:
    """The raw redis-py client behind the default cache, or None without django-redis."""
    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _now_us() -> int:
    return time.time_ns() // 1000


# --- The sliding-window limiter ------------------------------------------------------------

# KEYS[1]: a sorted set of grant times (µs, Redis clock). ARGV: limit, window µs, nonce.
# Returns {1, grant_time_us} when a slot was taken, else {0, µs until the oldest grant leaves
# the window}. A grant at time t is allowed only if fewer than `limit` grants lie in
# (t - window, t], so no half-open window of that length ever holds more than `limit`.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, string.format('%d', now) .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""

_local_lock = threading.Lock()
_local_windows: dict[str, deque[int]] = {}


@dataclass(frozen=True)
class Grant:
    """A slot taken in the window. ``at_us`` is the limiter's clock (Redis TIME with Redis)."""

    at_us: int
    waited_s: float


class SlidingWindowLimiter:
    """At most ``limit`` grants in any rolling ``window_seconds``, across every process.

    ``acquire`` takes a slot, waiting at most ``max_wait`` seconds for one to free up; past
    that it raises SpotifyRateLimited (with the wait still needed as Retry-After) instead of
    exceeding the budget. The caller's wait is bounded; the budget is never exceeded.
    """

    def __init__(self, *, name: str, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.name = name
        self.limit = limit
        self.window_us = int(window_seconds * 1_000_000)
        self.key = cache.make_key(f"spotify:limiter:{name}")
        self._redis = redis_client()
        self._script = self._redis.register_script(_ACQUIRE_LUA) if self._redis else None

    def _try(self) -> tuple[bool, int]:
        if self._script is not None:
            ok, value = self._script(keys=[self.key], args=[self.limit, self.window_us, _nonce()])
            return bool(ok), int(value)
        with _local_lock:
            now = _now_us()
            grants = _local_windows.setdefault(self.key, deque())
            while grants and grants[0] <= now - self.window_us:
                grants.popleft()
            if len(grants) < self.limit:
                grants.append(now)
                return True, now
            return False, grants[0] + self.window_us - now

    def acquire(self, *, max_wait: float) -> Grant:
        """Take one slot, or raise SpotifyRateLimited after waiting at most ``max_wait`` s."""
        started = time.monotonic()
        while True:
            ok, value = self._try()
            if ok:
                return Grant(at_us=value, waited_s=time.monotonic() - started)
            wait_s = max(value, 1) / 1_000_000
            remaining = max_wait - (time.monotonic() - started)
            if wait_s > remaining:
                raise SpotifyRateLimited(
                    "Encore's shared Spotify call budget is spent; try again shortly.",
                    retry_after=math.ceil(wait_s),
                    detail={"reason": "LOCAL_BUDGET"},
                )
            # Sleep until the oldest grant leaves the window (plus jitter so that waiting
            # processes do not all retry in the same millisecond), then compete again.
            time.sleep(wait_s + secrets.randbelow(5000) / 1_000_000)

    def reset(self) -> None:
        """Forget every grant (tests, benchmarks)."""
        if self._redis is not None:
            self._redis.delete(self.key)
        with _local_lock:
            _local_windows.pop(self.key, None)


def _nonce() -> str:
    return secrets.token_hex(6)


def spotify_limiter() -> SlidingWindowLimiter:
    """The app's budget: SPOTIFY_RATE_LIMIT_CALLS per rolling 30 s, shared by all processes."""
    return SlidingWindowLimiter(
        name="app", limit=settings.SPOTIFY_RATE_LIMIT_CALLS, window_seconds=SPOTIFY_WINDOW_SECONDS
    )


# --- The pause mark ------------------------------------------------------------------------

# Extends the mark only forward: a short Retry-After never shortens a long pause.
_PAUSE_LUA = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilms = tonumber(ARGV[1])
if untilms > cur then
  redis.call('SET', KEYS[1], untilms, 'PX', tonumber(ARGV[2]))
end
return 1
"""


_PAUSE_NAME = "spotify:paused_until_ms"


def _pause_key() -> str:
    """The raw Redis key (the cache API adds the prefix itself)."""
    return cache.make_key(_PAUSE_NAME)


def spotify_pause(*, retry_after: int) -> None:
    """Mark Spotify paused for every process for ``retry_after`` seconds (from a 429)."""
    until_ms = int(time.time() * 1000) + retry_after * 1000
    ttl_ms = retry_after * 1000 + 1000
    client = redis_client()
    if client is not None:
        client.eval(_PAUSE_LUA, 1, _pause_key(), until_ms, ttl_ms)
        return
    with _local_lock:
        current = cache.get(_PAUSE_NAME) or 0
        if until_ms > current:
            cache.set(_PAUSE_NAME, until_ms, timeout=math.ceil(ttl_ms / 1000))


def spotify_paused_for() -> int:
    """Whole seconds Spotify stays paused (0 when it is not)."""
    client = redis_client()
    raw = client.get(_pause_key()) if client is not None else cache.get(_PAUSE_NAME)
    if not raw:
        return 0
    remaining_ms = int(raw) - int(time.time() * 1000)
    return math.ceil(remaining_ms / 1000) if remaining_ms > 0 else 0


def spotify_pause_clear() -> None:
    """Lift the pause (an operator decision, or tests)."""
    client = redis_client()
    if client is not None:
        client.delete(_pause_key())
    else:
        cache.delete(_PAUSE_NAME)


def spotify_check_not_paused() -> None:
    """Raise SpotifyRateLimited when a 429 anywhere has paused Spotify calls."""
    remaining = spotify_paused_for()
    if remaining > 0:
        raise SpotifyRateLimited(
            "Spotify asked us to pause; try again later.",
            retry_after=remaining,
            detail={"reason": "PAUSED"},
        )


# --- A cross-process lock ------------------------------------------------------------------

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextlib.contextmanager
def cache_lock(name: str, *, timeout: float, wait: float) -> Iterator[None]:
    """Hold ``name`` exclusively across processes for at most ``timeout`` seconds.

    Waits up to ``wait`` seconds to get it, then raises SpotifyUnavailable. ``timeout`` is
    a safety net for a crashed holder, so it must exceed the longest guarded operation.
    Release deletes the lock only if we still own it (a compare-and-delete).
    """
    name = f"spotify:lock:{name}"
    key = cache.make_key(name)  # the raw Redis key; the cache API adds the prefix itself
    token = secrets.token_hex(16)
    client = redis_client()
    deadline = time.monotonic() + wait
    ttl_ms = int(timeout * 1000)
    while True:
        if client is not None:
            acquired = bool(client.set(key, token, nx=True, px=ttl_ms))
        else:
            acquired = cache.add(name, token, timeout=math.ceil(timeout))
        if acquired:
            break
        if time.monotonic() >= deadline:
            raise SpotifyUnavailable("Another process holds a Spotify lock; try again shortly.")
        time.sleep(0.02)
    try:
        yield
    finally:
        if client is not None:
            client.eval(_RELEASE_LUA, 1, key, token)
        else:
            with _local_lock:
                if cache.get(name) == token:
                    cache.delete(name)
