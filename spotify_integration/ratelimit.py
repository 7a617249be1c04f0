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
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from core import metrics
from core.shared_state import CACHE_ERRORS, cache_failed, cache_recently_failed
from spotify_integration.exceptions import SpotifyRateLimited, SpotifyUnavailable
from spotify_integration.lanes import LANES as LANES  # re-exported: callers import from here
from spotify_integration.lanes import Lane as Lane

logger = logging.getLogger("encore.spotify")


def redis_client() -> Any | None:
    """The raw redis-py client behind the default cache, or None without django-redis."""
    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _now_us() -> int:
    return time.time_ns() // 1000


# --- The sliding-window limiter, with priority lanes ----------------------------------------


# A refused caller of a higher lane marks its demand for (its wait + this) ms, at most for as
# long as it may wait: until then the lower lanes leave the slots that free up to it. A grant
# to the lane clears the mark (a caller still waiting marks it again on its next try).
DEMAND_MARGIN_MS = 250

# KEYS: [1] all grants, [2..4] the grants of each lane (LANES order), [5] interactive demand,
# [6] library demand (each the time, µs, until which a caller of that lane waits; its TTL only
# cleans up). Every set holds grant times (µs).
# ARGV: limit, window µs, nonce, lane index (1..3), enrichment cap, now µs ('' = Redis TIME),
# demand TTL cap ms, demand margin ms, slots kept for interactive callers.
# Returns {1, grant time, ''} or {0, µs to wait, reason}.
_ACQUIRE_LUA = """
local now
if ARGV[6] ~= '' then
  now = tonumber(ARGV[6])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local lane = tonumber(ARGV[4])
local ecap = tonumber(ARGV[5])
for i = 1, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window) end
local function leaves(key, index)
  local g = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  if g[2] then return tonumber(g[2]) + window - now end
  return window
end
local wait, reason = nil, nil
local total = redis.call('ZCARD', KEYS[1])
local reserve = tonumber(ARGV[9])
if total >= limit then
  wait, reason = leaves(KEYS[1], 0), 'budget'
elseif lane > 1 and total >= limit - reserve then
  wait, reason = leaves(KEYS[1], total - limit + reserve), 'reserve'
else
  for higher = 1, lane - 1 do
    local pending = tonumber(redis.call('GET', KEYS[4 + higher]) or '0') - now
    if pending > 0 and (wait == nil or pending < wait) then
      wait, reason = pending, 'priority'
    end
  end
  if wait == nil and lane == 3 and redis.call('ZCARD', KEYS[4]) >= ecap then
    -- Others active: wait until a share slot frees, or the others' newest call leaves.
    local quiet = nil
    for i = 2, 3 do
      if redis.call('ZCARD', KEYS[i]) > 0 then quiet = math.max(quiet or 0, leaves(KEYS[i], -1)) end
    end
    if quiet ~= nil then
      wait, reason = math.min(leaves(KEYS[4], 0), quiet), 'share'
    end
  end
end
if wait == nil then
  local member = string.format('%d', now) .. ':' .. ARGV[3]
  local ttl = math.ceil(window / 1000) + 1000
  for _, key in ipairs({KEYS[1], KEYS[1 + lane]}) do
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, ttl)
  end
  if lane < 3 then redis.call('DEL', KEYS[4 + lane]) end
  return {1, now, ''}
end
wait = math.max(wait, 1)
if lane < 3 and wait <= tonumber(ARGV[7]) * 1000 then
  local px = math.min(math.ceil(wait / 1000) + tonumber(ARGV[8]), tonumber(ARGV[7]))
  local untilus = now + px * 1000
  if px > 0 and untilus > tonumber(redis.call('GET', KEYS[4 + lane]) or '0') then
    redis.call('SET', KEYS[4 + lane], string.format('%d', untilus), 'PX', px)
  end
end
return {0, wait, reason}
"""


@dataclass(frozen=True)
class Grant:
    """A slot taken in the window. ``at_us`` is the limiter's clock (Redis TIME with Redis)."""

    at_us: int
    waited_s: float
    lane: Lane = Lane.INTERACTIVE


@dataclass(frozen=True)
class Decision:
    """One try for a slot: granted at ``at_us``, or refused for ``wait_us`` because of
    ``reason`` (``budget``: the window is full; ``reserve``: only the interactive reserve is
    left; ``priority``: a higher lane is waiting; ``share``: enrichment has its share while
    others are active)."""

    granted: bool
    at_us: int = 0
    wait_us: int = 0
    reason: str = ""


class _LocalWindow:
    """The in-process state of one limiter (no Redis: the embedded default, one process)."""

    def __init__(self) -> None:
        self.grants: dict[str, deque[int]] = {"all": deque(), **{lane: deque() for lane in LANES}}
        self.demand_until: dict[Lane, int] = {}


_local_lock = threading.Lock()
_local_windows: dict[str, _LocalWindow] = {}


class SlidingWindowLimiter:
    """At most ``limit`` grants in any rolling ``window_seconds``, across every process, shared
    by the lanes in priority order (see :class:`Lane`).

    ``acquire`` takes a slot, waiting at most ``max_wait`` seconds for one to free up; past
    that it raises SpotifyRateLimited (with the wait still needed as Retry-After) instead of
    exceeding the budget. The caller's wait is bounded; the budget is never exceeded.
    ``clock`` (µs) replaces Redis's clock in tests of the lane rules (:meth:`try_acquire`).
    """

    def __init__(
        self,
        *,
        name: str,
        limit: int,
        window_seconds: float,
        enrichment_share: float = 1.0,
        interactive_reserve: float = 0.0,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if limit < 1 or window_seconds <= 0 or not 0 < enrichment_share <= 1:
            raise ValueError("limit >= 1, window_seconds > 0 and 0 < enrichment_share <= 1")
        if not 0 <= interactive_reserve < 1:
            raise ValueError("0 <= interactive_reserve < 1")
        self.name = name
        self.limit = limit
        self.window_us = int(window_seconds * 1_000_000)
        # Enrichment's cap while another lane is active: at least one slot, so it never starves
        # completely while others use less than the whole budget.
        self.enrichment_cap = max(1, math.floor(limit * enrichment_share))
        # Slots of every window only interactive callers may take, so that a person arriving
        # while jobs use the budget finds one at once (never all of them).
        self.interactive_reserve = min(limit - 1, math.floor(limit * interactive_reserve))
        self.key = cache.make_key(f"spotify:limiter:{name}")
        self._keys = [
            self.key,
            *(f"{self.key}:{lane}" for lane in LANES),
            *(f"{self.key}:demand:{lane}" for lane in LANES[:2]),
        ]
        self._clock = clock
        self._redis = redis_client()
        self._script = self._redis.register_script(_ACQUIRE_LUA) if self._redis else None

    def try_acquire(self, lane: Lane = Lane.INTERACTIVE, *, demand_ms: int = 0) -> Decision:
        """One atomic try for a slot; a refused higher-lane caller marks its demand for at
        most ``demand_ms`` (its remaining wait)."""
        index = LANES.index(lane) + 1
        now = self._clock() if self._clock is not None else None
        if self._script is not None:
            ok, value, reason = self._script(
                keys=self._keys,
                args=[
                    self.limit,
                    self.window_us,
                    _nonce(),
                    index,
                    self.enrichment_cap,
                    "" if now is None else now,
                    demand_ms,
                    DEMAND_MARGIN_MS,
                    self.interactive_reserve,
                ],
            )
            reason = reason.decode() if isinstance(reason, bytes) else str(reason or "")
            if ok:
                return Decision(granted=True, at_us=int(value))
            return Decision(granted=False, wait_us=int(value), reason=reason)
        with _local_lock:
            return self._try_local(lane, now if now is not None else _now_us(), demand_ms)

    def _try_local(self, lane: Lane, now: int, demand_ms: int) -> Decision:
        """The Lua script's rules, in process."""
        state = _local_windows.setdefault(self.key, _LocalWindow())
        for grants in state.grants.values():
            while grants and grants[0] <= now - self.window_us:
                grants.popleft()

        def leaves(grants: deque[int], index: int) -> int:
            return grants[index] + self.window_us - now if grants else self.window_us

        everyone, rank = state.grants["all"], LANES.index(lane)
        wait: int | None = None
        reason = ""
        reserve_from = self.limit - self.interactive_reserve
        if len(everyone) >= self.limit:
            wait, reason = leaves(everyone, 0), "budget"
        elif rank > 0 and len(everyone) >= reserve_from:
            wait, reason = leaves(everyone, len(everyone) - reserve_from), "reserve"
        else:
            for higher in LANES[:rank]:
                pending = state.demand_until.get(higher, 0) - now
                if pending > 0 and (wait is None or pending < wait):
                    wait, reason = pending, "priority"
            mine = state.grants[Lane.ENRICHMENT]
            if wait is None and lane is Lane.ENRICHMENT and len(mine) >= self.enrichment_cap:
                active = [state.grants[o] for o in LANES[:2] if state.grants[o]]
                if active:
                    quiet = max(leaves(g, -1) for g in active)
                    wait, reason = min(leaves(mine, 0), quiet), "share"
        if wait is None:
            everyone.append(now)
            state.grants[lane].append(now)
            state.demand_until.pop(lane, None)  # served: stop holding the lower lanes back
            return Decision(granted=True, at_us=now)
        wait = max(wait, 1)
        if lane is not Lane.ENRICHMENT and wait <= demand_ms * 1000:  # it will wait: mark it
            px = min(math.ceil(wait / 1000) + DEMAND_MARGIN_MS, demand_ms)
            if px > 0:
                until = now + px * 1000
                state.demand_until[lane] = max(state.demand_until.get(lane, 0), until)
        return Decision(granted=False, wait_us=wait, reason=reason)

    def acquire(self, *, max_wait: float, lane: Lane = Lane.INTERACTIVE) -> Grant:
        """Take one slot for ``lane``, or raise SpotifyRateLimited after waiting at most
        ``max_wait`` s. Every wait is recorded in the metrics (count and seconds, by lane)."""
        started = time.monotonic()
        while True:
            remaining = max_wait - (time.monotonic() - started)
            decision = self.try_acquire(lane, demand_ms=max(0, int(remaining * 1000)))
            waited = time.monotonic() - started
            if decision.granted:
                if waited > 0.0005:
                    metrics.record_budget_wait(lane=lane, seconds=waited, granted=True)
                return Grant(at_us=decision.at_us, waited_s=waited, lane=lane)
            wait_s = decision.wait_us / 1_000_000
            if wait_s > remaining:
                metrics.record_budget_wait(lane=lane, seconds=waited, granted=False)
                raise SpotifyRateLimited(
                    "Encore's shared Spotify call budget is spent; try again shortly.",
                    retry_after=max(1, math.ceil(wait_s)),
                    detail={"reason": "LOCAL_BUDGET", "lane": str(lane)},
                )
            # Sleep until a slot should free (plus jitter so that waiting processes do not all
            # retry in the same millisecond), then compete again.
            time.sleep(wait_s + secrets.randbelow(5000) / 1_000_000)

    def reset(self) -> None:
        """Forget every grant and demand mark (tests, benchmarks)."""
        if self._redis is not None:
            self._redis.delete(*self._keys)
        with _local_lock:
            _local_windows.pop(self.key, None)


def _nonce() -> str:
    return secrets.token_hex(6)


def spotify_window_seconds() -> float:
    """Spotify's rolling window (``SPOTIFY_RATE_LIMIT_WINDOW``, 30 s; benchmarks scale it)."""
    return float(settings.SPOTIFY_RATE_LIMIT_WINDOW)


def spotify_limiter() -> SlidingWindowLimiter:
    """The app's budget: SPOTIFY_RATE_LIMIT_CALLS per rolling SPOTIFY_RATE_LIMIT_WINDOW,
    shared by all processes and lanes."""
    return SlidingWindowLimiter(
        name="app",
        limit=settings.SPOTIFY_RATE_LIMIT_CALLS,
        window_seconds=spotify_window_seconds(),
        enrichment_share=settings.SPOTIFY_ENRICHMENT_SHARE,
        interactive_reserve=settings.SPOTIFY_INTERACTIVE_RESERVE,
    )


def lane_max_wait(lane: Lane) -> float:
    """How long a call of ``lane`` waits for budget: briefly for a person, long for jobs."""
    if lane is Lane.INTERACTIVE:
        return float(settings.SPOTIFY_RATE_LIMIT_WAIT)
    return float(settings.SPOTIFY_BACKGROUND_WAIT)


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
        try:
            client.eval(_PAUSE_LUA, 1, _pause_key(), until_ms, ttl_ms)
        except RedisError:  # the caller still gets its 429; only the other processes miss it
            logger.warning("spotify: Redis unreachable; pause of %s s not shared", retry_after)
        return
    with _local_lock:
        current = cache.get(_PAUSE_NAME) or 0
        if until_ms > current:
            cache.set(_PAUSE_NAME, until_ms, timeout=math.ceil(ttl_ms / 1000))


def spotify_paused_for() -> int:
    """Whole seconds Spotify stays paused (0 when it is not, or when Redis does not answer:
    the next call then learns of a pause from Spotify's own 429)."""
    client = redis_client()
    try:
        raw = None if cache_recently_failed() else (
            client.get(_pause_key()) if client is not None else cache.get(_PAUSE_NAME)
        )  # fmt: skip
    except CACHE_ERRORS as exc:
        cache_failed("the Spotify pause check", exc)
        raw = None
    remaining_ms = int(raw) - int(time.time() * 1000) if raw else 0
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
