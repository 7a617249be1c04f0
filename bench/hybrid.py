"""Hybrid search benchmark: the catalog's 1M songs plus a local fake Spotify (issue 11).

    python bench/hybrid.py [--songs 1000000] [--runs 20] [--mix 1000]

Uses the search benchmark's database (``encore_bench_search``, loaded by ``bench/search.py``
once: it is reused, not reloaded) and ``bench/fake_spotify.FakeSpotify`` serving tracks for
part of the queries: recordings the catalog has (the merge folds them into the local hits)
and recordings it lacks (they show as Spotify-only results). Each search is timed in process
as the view runs it: ``hybrid_search`` and the response body (``hybrid_response_data``); the
``+`` columns are the part of it beyond the catalog's own search (Spotify's leg, merge,
serialisation), which is what hybrid search adds whatever the local query costs.
Scenarios, each starting from an empty cache and a closed breaker:

1. warm cache: every query searched once, then ``--runs`` times each with ``spotify=always``
   (Spotify's leg answered from Redis: status ``cached``). Target p95 <= 30 ms.
2. Spotify answering in 2 s (the fake's ``latency_s``): ``spotify=always`` on queries never
   cached; the request waits ``SEARCH_SPOTIFY_BUDGET_MS`` at most (status ``timeout``). The
   breaker is held closed so that every request meets the slow Spotify. Target p95 <=
   budget + 50 ms.
3. Spotify down (``SPOTIFY_API_URL`` and the accounts URL on a closed port: connection
   refused): the first requests fail (``error`` or ``timeout``) until the breaker opens, then
   ``circuit_open``. Target p95 <= 30 ms once it is open.
4. ``--mix`` searches of a realistic repeating mix (queries drawn Zipf-like, s = 1.1, from
   full titles, titles typed halfway, artist + title and titles only Spotify has) with
   ``spotify=auto``, then ``always``: the Web API calls the fake received per 1,000 searches,
   against the searches that used Spotify's answer (what they would cost with no cache).

The shared Spotify budget (``SPOTIFY_RATE_LIMIT_CALLS``) is lifted for the run: the mix runs
back to back, far faster than people search, and would otherwise count the budget's refusals.

Needs PostgreSQL (as bench/search.py) and Redis (``REDIS_URL``, default
``redis://127.0.0.1:6379/12``; keys under the prefix ``encore-bench-hybrid``).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fake_catalog import track_object
from bench.fake_spotify import FakeSpotify

ZIPF_S = 1.1
ONLY_ON_SPOTIFY = (
    "aurora lantern", "velvet satellite", "copper meadow", "scarlet harbor", "hollow comet",
    "northern ember", "paper tide", "restless quartz", "gentle monsoon", "violet engine",
)  # fmt: skip


@dataclass
class Query:
    text: str
    kind: str  # title | typed | artist+title | spotify-only


@dataclass
class Timed:
    ms: float
    status: str
    local_ms: float  # the catalog's own search, inside ``ms``


def environment() -> None:
    """Settings for the run, before Django starts (bench.search.connect starts it)."""
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    os.environ["CACHE_KEY_PREFIX"] = "encore-bench-hybrid"
    os.environ["LOG_LEVEL"] = "ERROR"  # a refused Spotify logs every failure: keep it quiet
    os.environ["SPOTIFY_CLIENT_ID"] = "bench-client"
    os.environ["SPOTIFY_CLIENT_SECRET"] = "bench-secret"  # noqa: S105 - the fake's
    os.environ["SPOTIFY_APP_MODE"] = "development"
    # The mix runs searches back to back, far faster than people search: lift the shared
    # budget so that the calls counted are what the cache leaves, not what the budget refused.
    os.environ["SPOTIFY_RATE_LIMIT_CALLS"] = "100000"


def sample_songs(n: int, seed: int) -> list[tuple[str, str, str | None, int | None, str | None]]:
    """``n`` songs spread over the catalog: (title, main artist, album, duration, ISRC)."""
    from django.db.models import Max

    from catalog.models import Song

    rng = random.Random(seed)
    top = Song.objects.aggregate(top=Max("id"))["top"] or 0
    ids = rng.sample(range(1, top + 1), min(top, n * 3))
    rows = (
        Song.objects.filter(id__in=ids)
        .exclude(artist_names="")
        .values_list("title", "artist_names", "album__title", "duration_ms", "isrc")
    )
    picked = sorted(rows)[: n * 2]
    rng.shuffle(picked)
    return [(t, a.split(", ")[0], al, d, i) for t, a, al, d, i in picked[:n]]


def build_mix(songs: list[tuple[Any, ...]], seed: int) -> tuple[list[Query], list[dict]]:
    """The distinct queries (most popular first) and the fake's tracks for them."""
    rng = random.Random(seed)
    queries: list[Query] = []
    tracks: list[dict[str, Any]] = []
    for n, (title, artist, album, duration, isrc) in enumerate(songs):
        # The same recording on Spotify: the merge must fold it into the catalog's hit.
        tracks.append(
            track_object(
                name=title, artists=[artist], album=album or title,
                duration_ms=duration or 200_000, isrc=isrc, popularity=rng.randint(20, 90),
            )
        )  # fmt: skip
        words = title.split()
        if n % 4 == 1 and len(words) > 1:
            typed = " ".join([*words[:-1], words[-1][: max(2, len(words[-1]) // 2)]])
            queries.append(Query(typed, "typed"))
        elif n % 4 == 2:
            queries.append(Query(f"{artist} {title}", "artist+title"))
        else:
            queries.append(Query(title, "title"))
    for n in range(len(songs) // 3):
        title = f"{ONLY_ON_SPOTIFY[n % len(ONLY_ON_SPOTIFY)]} {n}"
        artist = f"The {ONLY_ON_SPOTIFY[(n * 7) % len(ONLY_ON_SPOTIFY)].split()[1].title()}s"
        tracks.append(
            track_object(
                name=title.title(), artists=[artist], album=f"{title.title()} (Deluxe)",
                duration_ms=180_000 + n * 1000, isrc=f"QZBEN{n:07d}", popularity=60,
            )
        )  # fmt: skip
        queries.append(Query(title, "spotify-only"))
    rng.shuffle(queries)  # popularity (the Zipf rank) is independent of the kind
    return queries, tracks


def zipf_draws(queries: list[Query], count: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    weights = [1 / (rank**ZIPF_S) for rank in range(1, len(queries) + 1)]
    return rng.choices(queries, weights=weights, k=count)


def closed_port() -> int:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_state() -> None:
    """An empty Spotify cache, a closed breaker, no token: only this run's keys (the prefix)."""
    from django.core.cache import cache

    cache.delete_pattern("*")  # type: ignore[attr-defined] - django-redis, this prefix only


def drain(seconds: float) -> None:
    """Let late Spotify calls (they finish in the background) end before the next scenario."""
    time.sleep(seconds)


def search_once(text: str, mode: str) -> Timed:
    from catalog.hybrid import hybrid_response_data, hybrid_search
    from catalog.search import SearchFilters

    started = time.perf_counter()
    result = hybrid_search(query=text, filters=SearchFilters(), limit=20, offset=0, spotify=mode)
    hybrid_response_data(result)  # serialise, as the view does
    elapsed = (time.perf_counter() - started) * 1000
    return Timed(elapsed, result.spotify.status, result.timings["local"])


def run(texts: list[str], mode: str, pause: float = 0.0) -> list[Timed]:
    out = []
    for text in texts:
        out.append(search_once(text, mode))
        if pause:
            time.sleep(pause)
    return out


def report(name: str, timed: list[Timed], target: str, *, since: int = 0) -> None:
    from bench._common import percentile

    measured = [t.ms for t in timed[since:]]
    # What hybrid search adds to the catalog's search: Spotify's leg, merge, serialisation.
    added = [t.ms - t.local_ms for t in timed[since:]]
    statuses = Counter(t.status for t in timed[since:])
    shown = ", ".join(f"{s} {n}" for s, n in statuses.most_common())
    print(
        f"{name:<38}{len(measured):>6}{percentile(measured, 50):>9.1f}"
        f"{percentile(measured, 95):>9.1f}{max(measured):>9.1f}"
        f"{percentile(added, 50):>9.1f}{percentile(added, 95):>9.1f}   {shown}   ({target})"
    )


def scenario(title: str, body: Callable[[], None]) -> None:
    fresh_state()
    print(f"\n{title}", flush=True)
    body()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--songs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300, help="distinct catalog queries")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--mix", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=40, help="searches with Spotify at 2 s")
    parser.add_argument("--down", type=int, default=200, help="searches with Spotify down")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    environment()

    from bench.search import connect

    connect(False, args.songs)

    from django.conf import settings
    from django.db import connection

    from catalog.models import Song

    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('shared_buffers')")
        server, shared_buffers = cursor.fetchone()
    print(f"songs: {Song.objects.count():,}")
    print(f"{server.split(' on ')[0]}, shared_buffers {shared_buffers}, {os.cpu_count()} CPUs")
    budget = settings.SEARCH_SPOTIFY_BUDGET_MS
    print(
        f"SEARCH_SPOTIFY_BUDGET_MS {budget}, breaker {settings.SEARCH_SPOTIFY_BREAKER_FAILURES} "
        f"failures in {settings.SEARCH_SPOTIFY_BREAKER_WINDOW:g} s, "
        f"SPOTIFY_APP_MODE {settings.SPOTIFY_APP_MODE}"
    )

    queries, tracks = build_mix(sample_songs(args.queries, args.seed), args.seed)
    fake = FakeSpotify(tracks=tracks, mode="development")
    api_url, accounts_url = fake.start()
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = api_url, accounts_url
    kinds = Counter(q.kind for q in queries)
    print(
        f"fake Spotify: {len(tracks)} tracks; {len(queries)} distinct queries "
        f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})"
    )
    texts = [q.text for q in queries]
    header = (
        f"{'':<38}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'+p50':>9}{'+p95':>9}"
        "   statuses   (+: ms beyond the catalog's own search)"
    )

    def warm() -> None:
        warm_texts = texts[:50]
        for _ in range(2):  # fills the cache (and the local search's buffers)
            run(warm_texts, "always")
        print(header)
        report("warm cache, spotify=always", run(warm_texts * args.runs, "always"), "<= 30 ms")
        report("warm cache, spotify=auto", run(warm_texts * args.runs, "auto"), "<= 30 ms")
        # The same queries without Spotify: what the catalog's own search costs of the above.
        report("same queries, spotify=never", run(warm_texts * args.runs, "never"), "local only")

    def slow() -> None:
        fake.latency_s = 2.0
        failures = settings.SEARCH_SPOTIFY_BREAKER_FAILURES
        settings.SEARCH_SPOTIFY_BREAKER_FAILURES = 10**9  # every request meets the slow Spotify
        try:
            # Spaced so the worker pool keeps up (each call holds a worker for 2 s).
            timed = run(texts[50 : 50 + args.slow], "always", pause=0.1)
            print(header)
            report("Spotify answering in 2 s", timed, f"<= {budget + 50} ms, timeout")
        finally:
            settings.SEARCH_SPOTIFY_BREAKER_FAILURES = failures
            fake.latency_s = 0.0
            drain(2.5)

    def down() -> None:
        port = closed_port()
        settings.SPOTIFY_API_URL = f"http://127.0.0.1:{port}/v1/"
        settings.SPOTIFY_ACCOUNTS_URL = f"http://127.0.0.1:{port}/"
        try:
            timed = run(texts[: args.down], "always")
            opened = next(
                (i for i, t in enumerate(timed) if t.status == "circuit_open"), len(timed)
            )
            print(header)
            report("Spotify down, until the breaker opens", timed[: max(opened, 1)], "-")
            report("Spotify down, breaker open", timed, "<= 30 ms, circuit_open", since=opened)
            local = run(texts[opened : args.down], "never")
            report("same queries, spotify=never", local, "local only")
        finally:
            settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = api_url, accounts_url
            drain(1.0)

    def mix() -> None:
        draws = [q.text for q in zipf_draws(queries, args.mix, args.seed)]
        print(f"{len(set(draws))} distinct queries among {len(draws)} searches (Zipf s={ZIPF_S})")
        print(f"{'mode':<8}{'searches':>9}{'API calls':>10}{'per 1,000':>10}"
              f"{'used Spotify':>13}   statuses")  # fmt: skip
        for mode in ("auto", "always"):
            fresh_state()
            fake.reset_counters()
            timed = run(draws, mode)
            drain(0.5)
            used = sum(1 for t in timed if t.status in ("ok", "cached"))
            statuses = Counter(t.status for t in timed)
            print(
                f"{mode:<8}{len(timed):>9}{fake.api_calls:>10}"
                f"{fake.api_calls * 1000 / len(timed):>10.1f}{used:>13}   "
                + ", ".join(f"{s} {n}" for s, n in statuses.most_common())
            )

    try:
        scenario("1. warm cache", warm)
        scenario("2. Spotify answering in 2 s", slow)
        scenario("3. Spotify down (connection refused)", down)
        scenario("4. calls per 1,000 searches of a repeating mix", mix)
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
