"""Benchmark the shared Spotify rate limiter against a real Redis.

Prints two figures:

1. **Overhead per call**: the time ``acquire()`` takes when a slot is free (one Lua script
   round trip to Redis), p50 and p99 over ``--calls`` calls in one process.
2. **Budget under contention**: ``--processes`` OS processes (8 by default) each call
   ``acquire()`` as fast as they can for ``--duration`` seconds; every grant's Redis timestamp
   is collected, and the most grants found in any rolling window is compared with the budget.

Spotify's window is 30 s. So that the run takes well under a minute, the window is **scaled
down** (``--window``, default 3 s) while the budget per window stays the configured one
(``--budget``, default SPOTIFY_RATE_LIMIT_CALLS = 90): the limiter's logic does not depend on the
window's length, only the time to observe many windows does. Pass ``--window 30`` for the real
thing. Needs REDIS_URL (default redis://127.0.0.1:6379/2); keys are namespaced and removed.

    REDIS_URL=redis://127.0.0.1:6379/2 python bench/limiter.py [--window 3] [--budget 90]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _setup_django() -> None:
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/2")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"encore-bench-{os.getppid()}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure_overhead(calls: int) -> tuple[float, float]:
    from spotify_integration.ratelimit import SlidingWindowLimiter

    limiter = SlidingWindowLimiter(name="bench-overhead", limit=10**9, window_seconds=30)
    limiter.reset()
    for _ in range(50):  # warm up the connection and the script cache (EVALSHA)
        limiter.acquire(max_wait=0)
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        limiter.acquire(max_wait=0)
        timings.append((time.perf_counter() - started) * 1000)
    limiter.reset()
    return statistics.median(timings), _percentile(timings, 99)


def _hammer(
    prefix: str,
    budget: int,
    window: float,
    max_wait: float,
    ready: Any,
    go: Any,
    deadline: Any,
    results: Any,
) -> None:
    """One process: set up, wait for all, then acquire as fast as possible until the deadline.

    The barriers keep slow interpreter start-up (spawn, Django) out of the measured period.
    """
    os.environ["CACHE_KEY_PREFIX"] = prefix
    _setup_django()
    from spotify_integration.exceptions import SpotifyRateLimited
    from spotify_integration.ratelimit import SlidingWindowLimiter

    limiter = SlidingWindowLimiter(name="bench-contention", limit=budget, window_seconds=window)
    grants: list[int] = []
    refused = 0
    ready.wait()
    go.wait()
    while time.time() < deadline.value:
        try:
            grants.append(limiter.acquire(max_wait=max_wait).at_us)
        except SpotifyRateLimited:
            refused += 1
    results.put((grants, refused))


def max_in_any_window(grants_us: list[int], window_us: int) -> int:
    """The most grants inside any half-open window (t - window, t]."""
    grants = sorted(grants_us)
    best = start = 0
    for end, at in enumerate(grants):
        while grants[start] <= at - window_us:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls for the overhead figure")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--budget", type=int, default=None, help="default SPOTIFY_RATE_LIMIT_CALLS")
    parser.add_argument("--window", type=float, default=3.0, help="seconds (Spotify's is 30)")
    parser.add_argument("--duration", type=float, default=None, help="default 4 windows")
    parser.add_argument(
        "--max-wait", type=float, default=None, help="default SPOTIFY_RATE_LIMIT_WAIT"
    )
    args = parser.parse_args()

    _setup_django()
    from django.conf import settings

    from spotify_integration.ratelimit import SlidingWindowLimiter, redis_client

    if redis_client() is None:
        sys.exit("This benchmark needs Redis: set REDIS_URL.")
    budget = args.budget or settings.SPOTIFY_RATE_LIMIT_CALLS
    max_wait = settings.SPOTIFY_RATE_LIMIT_WAIT if args.max_wait is None else args.max_wait
    duration = args.duration or args.window * 4

    p50, p99 = measure_overhead(args.calls)
    print(f"limiter overhead per call ({args.calls} calls, Redis {settings.REDIS_URL}):")
    print(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms")

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    SlidingWindowLimiter(name="bench-contention", limit=budget, window_seconds=args.window).reset()
    ctx = mp.get_context("spawn")  # fresh interpreters: no Redis connection shared across fork
    ready, go = ctx.Barrier(args.processes + 1), ctx.Barrier(args.processes + 1)
    deadline, results = ctx.Value("d", 0.0), ctx.Queue()
    workers = [
        ctx.Process(
            target=_hammer,
            args=(prefix, budget, args.window, max_wait, ready, go, deadline, results),
        )
        for _ in range(args.processes)
    ]
    for worker in workers:
        worker.start()
    ready.wait()  # every process is set up
    deadline.value = time.time() + duration
    go.wait()
    collected = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    results_list = collected
    SlidingWindowLimiter(name="bench-contention", limit=budget, window_seconds=args.window).reset()
    grants = [g for process_grants, _ in results_list for g in process_grants]
    refused = sum(r for _, r in results_list)
    busiest = max_in_any_window(grants, int(args.window * 1_000_000))
    span = (max(grants) - min(grants)) / 1_000_000 if grants else 0.0
    print(
        f"{args.processes} processes for {duration:.1f} s, window {args.window:g} s "
        f"(Spotify's 30 s scaled down), budget {budget} per window, max wait {max_wait:g} s:"
    )
    print(
        f"  granted {len(grants)} over {span:.1f} s, refused past the wait bound {refused}; "
        f"most in any {args.window:g} s window: {busiest} (budget {budget}) -> "
        f"{'OK' if busiest <= budget else 'OVER BUDGET'}"
    )
    if busiest > budget:
        sys.exit(1)


if __name__ == "__main__":
    main()
