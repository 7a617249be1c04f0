"""Enrichment jobs against a fake Spotify with a rolling-window limit: calls, 429s, wall time.

    python bench/enrich.py [--songs 1000] [--limit 30] [--window 3]

For each app mode (development, extended) it loads ``--songs`` songs into a scratch PostgreSQL
database (``encore_bench_enrich``), serves the matching tracks from ``bench/fake_spotify.py``
(which answers 429 beyond ``--limit`` requests in any ``--window`` seconds), and runs the three
job kinds through the job framework as ``manage.py spotify_*`` does:

- ``spotify_match`` over the songs without a Spotify id, then again as the hourly schedule
  runs it (songs never tried);
- ``spotify_refresh`` over every song with its Spotify id and stale fields, then again;
- ``spotify_audio_features`` over every song, then again.

It prints, per run: Web API calls (as the job counted them, and as the fake received them),
calls per 1,000 songs, 429 responses seen, the wall time, and the least time the budget allows
for that many calls (``SPOTIFY_RATE_LIMIT_CALLS`` = ``--limit`` per
``SPOTIFY_RATE_LIMIT_WINDOW``, less the interactive reserve enrichment may not take: the first
of those calls at once, then as many a window).

The window is scaled down from Spotify's 30 s to ``--window`` (3 s) to keep the run short, and
the budget lowered to 30 calls a window so that the budget, not the latency of one process's
calls, is what limits the run. The budget allows as many calls as the fake, over a window
``--margin`` (5 %) longer: with exactly the fake's window, a call admitted the instant the
oldest one leaves our window can reach the fake a millisecond before that one left the fake's
(the requests' latencies differ), and draw a 429. Spotify's real window is not published
either, so production wants the same slack.

Needs PostgreSQL (``BENCH_ADMIN_URL``, as the other benchmarks) and Redis (``REDIS_URL``,
default ``redis://127.0.0.1:6379/11``; keys under the prefix ``encore-bench-enrich``).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import setup_django
from bench.fake_catalog import track_object
from bench.fake_spotify import FakeSpotify

WORDS = (
    "amber velvet river neon golden silent paper winter echo crystal midnight hollow copper "
    "faded wild electric lonely summer broken distant electric scarlet northern gentle "
    "restless burning ocean shadow harbor lantern meadow thunder violet satellite desert"
).split()


@dataclass
class Run:
    mode: str
    what: str
    songs: int
    job_calls: int
    fake_calls: int
    rate_limited: int
    seconds: float
    minimum: float
    status: str
    note: str = ""

    def line(self) -> str:
        per_1000 = self.job_calls * 1000 / self.songs if self.songs else 0.0
        ratio = f"{self.seconds / self.minimum:5.2f}x" if self.minimum else "   - "
        return (
            f"{self.mode:<11} {self.what:<28} {self.songs:>6} {self.job_calls:>6} "
            f"{self.fake_calls:>6} {per_1000:>9.1f} {self.rate_limited:>5} "
            f"{self.seconds:>7.1f} {self.minimum:>7.1f} {ratio}  {self.status}"
            + (f" ({self.note})" if self.note else "")
        )


def catalog(n: int, seed: int = 7) -> tuple[list[dict[str, Any]], list[Any]]:
    """``n`` Spotify tracks and the catalog's records of the same recordings (titles, artists,
    album, a duration off by up to a second, the ISRC for two songs in three)."""
    from catalog.records import SongRecord

    rng = random.Random(seed)
    artists = [f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}" for _ in range(n // 4)]
    tracks, records = [], []
    for i in range(n):
        title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {i}"
        artist = rng.choice(artists)
        album = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
        duration = rng.randint(150_000, 300_000)
        isrc = f"QZ{rng.choice(['AB', 'CD', 'EF'])}{i:08d}"
        tracks.append(
            track_object(
                name=title, artists=[artist], album=album, duration_ms=duration, isrc=isrc,
                release_date=str(rng.randint(1970, 2025)),
            )
        )  # fmt: skip
        records.append(
            SongRecord(
                title=title, artists=[artist], album=album,
                duration_ms=duration + rng.randint(-1000, 1000),
                isrc=isrc if i % 3 else None,
            )
        )  # fmt: skip
    return tracks, records


def budget_minimum(calls: int, limit: int, window: float) -> float:
    """The least wall time ``calls`` requests take under ``limit`` per rolling ``window``."""
    return ((calls - 1) // limit) * window if calls > 0 else 0.0


def run_job(
    fake: FakeSpotify, *, mode: str, what: str, kind: str, params: dict[str, Any], args: Any
) -> Run:
    from sync.management.foreground import job_run_foreground
    from sync.models import JobTrigger
    from sync.services.jobs import job_create

    time.sleep(args.budget_window)  # start each run with an empty window, on both sides
    fake.reset_counters()
    job = job_create(kind=kind, params=params, trigger=JobTrigger.COMMAND, enqueue=False).job
    started = time.monotonic()
    job = job_run_foreground(job, show_progress=False)
    seconds = time.monotonic() - started
    result = job.result or {}
    note = job.error_message[:70] if job.error_message else ""
    return Run(
        mode=mode,
        what=what,
        songs=int(result.get("selected", job.progress_total or 0)),
        job_calls=job.spotify_calls,
        fake_calls=fake.api_calls,
        rate_limited=fake.rate_limited,
        seconds=seconds,
        minimum=budget_minimum(fake.api_calls, args.lane_limit, args.budget_window),
        status=job.status,
        note=note,
    )


def one_mode(fake: FakeSpotify, mode: str, records: list[Any], args: Any) -> list[Run]:
    from django.conf import settings

    from catalog.models import Album, Artist, Song
    from catalog.services import song_records_upsert
    from spotify_integration.client import endpoint_memory_clear
    from spotify_integration.ratelimit import spotify_limiter, spotify_pause_clear

    settings.SPOTIFY_APP_MODE = mode
    fake.mode = mode
    endpoint_memory_clear()
    spotify_limiter().reset()
    spotify_pause_clear()
    Song.objects.all().delete()
    Artist.objects.all().delete()
    Album.objects.all().delete()
    song_records_upsert(records=records)

    runs = [
        run_job(fake, mode=mode, what="match", kind="spotify_match", params={}, args=args),
        run_job(
            fake, mode=mode, what="match again (never tried)", kind="spotify_match",
            params={"mode": "never_tried"}, args=args,
        ),
    ]  # fmt: skip
    # Every song now has its track's id and stale fields: a refresh of all of them.
    by_title = {t["name"]: t["id"] for t in fake.index.by_id.values()}
    for song in Song.objects.all().only("id", "title"):
        Song.objects.filter(pk=song.pk).update(
            spotify_id=by_title[song.title], spotify_synced_at=None
        )
    runs += [
        run_job(fake, mode=mode, what="refresh", kind="spotify_refresh", params={}, args=args),
        run_job(fake, mode=mode, what="refresh again", kind="spotify_refresh", params={},
                args=args),
        run_job(fake, mode=mode, what="audio features", kind="spotify_audio_features",
                params={}, args=args),
        run_job(fake, mode=mode, what="audio features again", kind="spotify_audio_features",
                params={}, args=args),
    ]  # fmt: skip
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=30, help="calls the fake allows a window")
    parser.add_argument("--window", type=float, default=3.0, help="seconds (Spotify's: 30)")
    parser.add_argument(
        "--margin", type=float, default=0.05, help="the budget's window is this much longer"
    )
    args = parser.parse_args()

    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    os.environ["CACHE_KEY_PREFIX"] = "encore-bench-enrich"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["SPOTIFY_CLIENT_ID"] = "bench-client"
    os.environ["SPOTIFY_CLIENT_SECRET"] = "bench-secret"  # noqa: S105 - the fake's
    os.environ["SPOTIFY_RATE_LIMIT_CALLS"] = str(args.limit)
    args.budget_window = args.window * (1 + args.margin)
    os.environ["SPOTIFY_RATE_LIMIT_WINDOW"] = str(args.budget_window)
    setup_django("encore_bench_enrich")
    from django.conf import settings
    from django.core.cache import cache

    # Enrichment may use all of the window but the interactive reserve (docs/spotify.md).
    args.lane_limit = args.limit - min(
        args.limit - 1, math.floor(args.limit * settings.SPOTIFY_INTERACTIVE_RESERVE)
    )
    # The fake is set up first; its URLs go into the settings the client reads per call.
    tracks, records = catalog(args.songs)
    fake = FakeSpotify(tracks=tracks, limit=args.limit, window_s=args.window)
    api_url, accounts_url = fake.start()
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = api_url, accounts_url
    cache.delete_pattern("*")  # type: ignore[attr-defined]  # this prefix's keys only
    try:
        runs = [
            r for mode in ("development", "extended") for r in one_mode(fake, mode, records, args)
        ]
    finally:
        fake.stop()

    print(
        f"enrichment jobs: {args.songs} songs, a fake Spotify allowing {args.limit} calls per "
        f"rolling {args.window:g} s (Spotify's window: 30 s); the budget: {args.limit} per "
        f"{args.budget_window:g} s, of which enrichment may take {args.lane_limit} (the rest is "
        f"the interactive reserve); 'min s' is the least time that allows"
    )
    print(
        f"{'mode':<11} {'run':<28} {'songs':>6} {'job':>6} {'fake':>6} {'per 1000':>9} "
        f"{'429s':>5} {'wall s':>7} {'min s':>7} ratio  status"
    )
    for run in runs:
        print(run.line())


if __name__ == "__main__":
    main()
