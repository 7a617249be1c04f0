"""Benchmark the shared Spotify rate limiter against a real Redis.

Prints two figures:

1. **Overhead per call**: the time ``acquire()`` takes when a slot is free (one Lua script
   round trip to Redis), p50 and p99 over ``--calls`` calls in one process.
2. **Budget under contention**: ``--processes`` OS processes (8 by default) each call
   ``acquire()`` as fast as they can for ``--duration`` seconds; every grant's Redis timestamp
   is collected, and the most grants found in any rolling window is compared with the budget.
3. **Lanes**: enrichment processes saturate the budget; after a window and a quarter one
   interactive process (a person every ``--interactive-every`` s, waiting at most the
   interactive wait) and one library process join: how long people wait, how many were
   refused, what each lane got, and the most grants in any window (all lanes together).
4. **Pace**: enrichment alone makes ``--pace-calls`` calls (1,000 by default); its wall time
   against the least the budget allows ((ceil(calls / budget) - 1) windows), with the
   interactive reserve (``SPOTIFY_INTERACTIVE_RESERVE``) left unused.

Spotify's window is 30 s. So that the run takes well under a minute, the window is **scaled
down** (``--window``, default 3 s) while the budget per window stays the configured one
(``--budget``, default SPOTIFY_RATE_LIMIT_CALLS = 90): the limiter's logic does not depend on the
window's length, only the time to observe many windows does. Pass ``--window 30`` for the real
thing. Needs REDIS_URL (default redis://127.0.0.1:6379/2); keys are namespaced and removed.

    REDIS_URL=redis://127.0.0.1:6379/2 python bench/limiter.py [--window 3] [--budget 90]
"""

from __future__ import annotations

import argparse
import math
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
    parser.add_argument("--enrichment-processes", type=int, default=4)
    parser.add_argument("--interactive-every", type=float, default=0.25, help="seconds")
    parser.add_argument("--pace-calls", type=int, default=1000, help="the issue's 1,000 tracks")
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

    lanes_ok = measure_lanes(prefix, budget, args, ctx)
    pace_ok = measure_pace(prefix, budget, args, ctx)
    if not (lanes_ok and pace_ok):
        sys.exit(1)


def _lane_worker(
    prefix: str,
    role: str,
    budget: int,
    window: float,
    share: float,
    every: float,
    calls: int,
    ready: Any,
    go: Any,
    deadline: Any,
    results: Any,
) -> None:
    """One process of the lanes and pace figures: ``role`` is a lane; enrichment saturates
    (or makes ``calls`` calls), the others call every ``every`` s."""
    os.environ["CACHE_KEY_PREFIX"] = prefix
    _setup_django()
    from django.conf import settings

    from spotify_integration.exceptions import SpotifyRateLimited
    from spotify_integration.ratelimit import Lane, SlidingWindowLimiter

    lane = Lane(role)
    limiter = SlidingWindowLimiter(
        name="bench-lanes",
        limit=budget,
        window_seconds=window,
        enrichment_share=share,
        interactive_reserve=settings.SPOTIFY_INTERACTIVE_RESERVE,
    )
    max_wait = settings.SPOTIFY_RATE_LIMIT_WAIT if lane is Lane.INTERACTIVE else 60.0
    grants: list[tuple[str, int]] = []
    waits: list[float] = []
    refused = 0
    ready.wait()
    go.wait()
    if lane is not Lane.ENRICHMENT:
        time.sleep(window * 1.25)  # people arrive once enrichment has the budget to itself
    started = time.monotonic()
    while time.time() < deadline.value and (not calls or len(grants) < calls):
        try:
            grant = limiter.acquire(max_wait=max_wait, lane=lane)
            grants.append((role, grant.at_us))
            waits.append(grant.waited_s)
        except SpotifyRateLimited:
            refused += 1
        if every:
            time.sleep(every)
    results.put((role, grants, waits, refused, time.monotonic() - started))


def _run_lanes(
    prefix: str,
    budget: int,
    window: float,
    share: float,
    roles: list[tuple[str, float, int]],
    duration: float,
    ctx: Any,
) -> list[tuple[str, list[tuple[str, int]], list[float], int, float]]:
    from spotify_integration.ratelimit import SlidingWindowLimiter

    SlidingWindowLimiter(name="bench-lanes", limit=budget, window_seconds=window).reset()
    ready, go = ctx.Barrier(len(roles) + 1), ctx.Barrier(len(roles) + 1)
    deadline, results = ctx.Value("d", 0.0), ctx.Queue()
    workers = [
        ctx.Process(
            target=_lane_worker,
            args=(prefix, role, budget, window, share, every, calls, ready, go, deadline, results),
        )
        for role, every, calls in roles
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    deadline.value = time.time() + duration
    go.wait()
    collected = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    SlidingWindowLimiter(name="bench-lanes", limit=budget, window_seconds=window).reset()
    return collected


def measure_lanes(prefix: str, budget: int, args: Any, ctx: Any) -> bool:
    from django.conf import settings

    share = settings.SPOTIFY_ENRICHMENT_SHARE
    duration = args.duration or args.window * 5
    roles = [("enrichment", 0.0, 0)] * args.enrichment_processes + [
        ("interactive", args.interactive_every, 0),
        ("library", args.window / 10, 0),
    ]
    collected = _run_lanes(prefix, budget, args.window, share, roles, duration, ctx)
    grants = [g for _, process_grants, _, _, _ in collected for g in process_grants]
    window_us = int(args.window * 1_000_000)
    busiest = max_in_any_window([at for _, at in grants], window_us)
    people = [w for role, _, waits, _, _ in collected if role == "interactive" for w in waits]
    refused = sum(r for role, _, _, r, _ in collected if role == "interactive")
    by_lane = {
        lane: sum(1 for r, _ in grants if r == lane)
        for lane in ("enrichment", "library", "interactive")
    }
    print(
        f"lanes: {args.enrichment_processes} enrichment processes saturating; after "
        f"{args.window * 1.25:g} s 1 interactive (a call every {args.interactive_every:g} s) "
        f"and 1 library process (every {args.window / 10:g} s) join; "
        f"{duration:.1f} s, window {args.window:g} s, budget {budget}, enrichment share {share:g}:"
    )
    print(
        f"  grants: enrichment {by_lane['enrichment']}, library {by_lane['library']}, "
        f"interactive {by_lane['interactive']}; most in any window {busiest} (budget {budget}) -> "
        f"{'OK' if busiest <= budget else 'OVER BUDGET'}"
    )
    if people:
        print(
            f"  interactive wait: p50 {statistics.median(people) * 1000:.1f} ms, "
            f"p95 {_percentile(people, 95) * 1000:.1f} ms, max {max(people) * 1000:.1f} ms; "
            f"refused {refused} of {len(people) + refused}"
        )
    return busiest <= budget and refused == 0


def measure_pace(prefix: str, budget: int, args: Any, ctx: Any) -> bool:
    calls = args.pace_calls
    minimum = (math.ceil(calls / budget) - 1) * args.window
    collected = _run_lanes(
        prefix, budget, args.window, 1.0, [("enrichment", 0.0, calls)], minimum * 3 + 10, ctx
    )
    _, grants, _, _, elapsed = collected[0]
    busiest = max_in_any_window([at for _, at in grants], int(args.window * 1_000_000))
    over = (elapsed - minimum) / minimum * 100 if minimum else 0.0
    print(
        f"pace: enrichment alone, {len(grants)} calls, budget {budget} per {args.window:g} s: "
        f"{elapsed:.2f} s against the budget's least {minimum:.2f} s ({over:+.1f} %); "
        f"most in any window {busiest}"
    )
    return len(grants) == calls and busiest <= budget and over <= 10


if __name__ == "__main__":
    main()
