"""The shared rate budget, the pause mark and the cross-process lock (real Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from spotify_integration.exceptions import SpotifyRateLimited, SpotifyUnavailable
from spotify_integration.ratelimit import (
    SlidingWindowLimiter,
    cache_lock,
    redis_client,
    spotify_check_not_paused,
    spotify_limiter,
    spotify_pause,
)


def max_in_any_window(grants_us: list[int], window_us: int) -> int:
    """The most grants in any half-open window (t - window, t] ending at a grant."""
    grants = sorted(grants_us)
    best = start = 0
    for end, at in enumerate(grants):
        while grants[start] <= at - window_us:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_the_test_settings_use_redis(settings):
    # The budget must be proven against the real shared store, not a process-local fallback.
    # A bare machine (`make test` without Redis) skips this; CI, where a skip fails, has Redis.
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): without it the limiter is process-local")
    assert redis_client() is not None


def test_limiter_never_exceeds_its_budget_under_concurrent_callers():
    # Given a budget of 10 calls per 0.5 s and 12 threads each wanting 8 calls
    limiter = SlidingWindowLimiter(name="concurrency-test", limit=10, window_seconds=0.5)
    grants: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def worker() -> None:
        barrier.wait()
        for _ in range(8):
            try:
                grant = limiter.acquire(max_wait=0.6)
            except SpotifyRateLimited:
                with lock:
                    refused.append(1)
                continue
            with lock:
                grants.append(grant.at_us)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # Then some calls waited or were refused, and no window ever held more than 10
    assert len(grants) + len(refused) == 96
    assert len(grants) > 10  # the window slid: it is a rate, not a one-off quota
    assert max_in_any_window(grants, limiter.window_us) <= 10


def test_over_budget_waits_up_to_the_bound_then_raises_with_retry_after():
    limiter = SlidingWindowLimiter(name="wait-test", limit=2, window_seconds=30)
    limiter.acquire(max_wait=0)
    limiter.acquire(max_wait=0)
    started = time.monotonic()
    with pytest.raises(SpotifyRateLimited) as exc:
        limiter.acquire(max_wait=0.2)
    assert time.monotonic() - started < 0.5
    assert 29 <= exc.value.retry_after <= 30
    assert exc.value.code == "spotify_rate_limited"


def test_a_waiting_call_gets_the_slot_that_frees_up():
    limiter = SlidingWindowLimiter(name="slide-test", limit=1, window_seconds=0.3)
    first = limiter.acquire(max_wait=0)
    second = limiter.acquire(max_wait=1)
    assert second.at_us - first.at_us >= 300_000
    assert second.waited_s > 0.1


@pytest.fixture
def empty_app_budget() -> Iterator[None]:
    """The app limiter with no slot taken, whatever other tests in this process took."""
    spotify_limiter().reset()
    yield
    spotify_limiter().reset()


@override_settings(SPOTIFY_RATE_LIMIT_CALLS=3)
def test_the_app_limiter_reads_its_budget_from_settings(empty_app_budget):
    limiter = spotify_limiter()
    for _ in range(3):
        limiter.acquire(max_wait=0)
    with pytest.raises(SpotifyRateLimited):
        limiter.acquire(max_wait=0)


def test_limiter_keys_carry_the_cache_prefix():
    # Parallel test workers (and deployments sharing a Redis) must not share a budget.
    from django.core.cache import cache

    limiter = SlidingWindowLimiter(name="prefix-test", limit=1, window_seconds=1)
    assert limiter.key.startswith(cache.key_prefix)


def test_pause_mark_refuses_calls_until_it_ends():
    spotify_pause(retry_after=1)
    with pytest.raises(SpotifyRateLimited) as exc:
        spotify_check_not_paused()
    assert exc.value.retry_after == 1
    time.sleep(1.1)
    spotify_check_not_paused()


def test_cache_lock_is_exclusive_and_gives_up_after_its_wait():
    with (
        cache_lock("test", timeout=5, wait=0),
        pytest.raises(SpotifyUnavailable),
        cache_lock("test", timeout=5, wait=0.1),
    ):
        pass
    with cache_lock("test", timeout=5, wait=0):
        pass  # released: free again


def test_local_fallback_keeps_the_budget_inside_one_process(settings):
    # The embedded default has no Redis: the same contract holds within the process.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    limiter = SlidingWindowLimiter(name="local", limit=2, window_seconds=30)
    assert limiter._script is None
    limiter.acquire(max_wait=0)
    limiter.acquire(max_wait=0)
    with pytest.raises(SpotifyRateLimited):
        limiter.acquire(max_wait=0)


def test_a_redis_outage_is_spotify_unavailable_not_a_crash():
    # Given the budget's Redis is down (nothing listens on port 1)
    if redis_client() is None:
        pytest.skip("needs django-redis as the cache: without it the budget is in process")
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from spotify_integration import ratelimit
    from spotify_integration.client import SpotifyClient

    dead = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ratelimit, "redis_client", lambda: dead)
        # When a call needs the budget, Then the caller gets the transient 503 error that
        # jobs retry with backoff (no request goes out: the budget cannot be kept)
        with pytest.raises(SpotifyUnavailable):
            SpotifyClient.for_app().track("4uLU6hMCjMI75M1A2tKUQC")
        # and a 429's pause mark that cannot be written leaves the caller its 429 error
        spotify_pause(retry_after=30)
    # A cache read failing mid-call (django-redis wraps the error) is the same 503
    from django_redis.exceptions import ConnectionInterrupted

    def cache_down(*args: object, **kwargs: object) -> str:
        raise ConnectionInterrupted(connection=None)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SpotifyClient, "_token", cache_down)
        with pytest.raises(SpotifyUnavailable):
            SpotifyClient.for_app().track("4uLU6hMCjMI75M1A2tKUQC")
