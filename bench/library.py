"""Users' libraries (issue 12) against the fake Spotify: playlists, the fan-out, a day of plays.

    python bench/library.py [--playlists 200] [--items 25] [--connections 1000]

Needs PostgreSQL (``BENCH_ADMIN_URL``, as the other benchmarks; a scratch database
``encore_bench_library`` is recreated) and Redis (``REDIS_URL``, default
``redis://127.0.0.1:6379/1``; keys under the prefix ``encore-bench-library``, and a queue of
its own). Spotify is ``bench/fake_spotify.py`` on 127.0.0.1 serving ``bench/fake_library.py``.

1. **Playlists**: an account with ``--playlists`` playlists of ``--items`` items (200 x 25 =
   5,000), all owned. ``user_playlists_sync`` three times: first (everything read), unchanged
   (one call per 50 playlists, no item call), and after 5 playlists changed. Calls as the
   fake received them, and wall time. The shared budget is raised (``--budget``) so that what
   is timed is Encore's work; the least time Spotify's usual budget (90 calls per 30 s) would
   impose on that many calls is printed beside it.
2. **Fan-out**: ``--connections`` connections, each with a small library. The beat's fan-out
   once (enqueue time: two jobs a connection), then a real Celery worker (solo pool, in a
   thread of this process) runs them all: jobs per second, and their outcomes.
3. **A day of plays**: one listener plays a track every 2 to 6 minutes for 16 hours; the plays
   sync polls every 15 minutes of that (simulated) day. Every 4th poll runs twice at once (two
   overlapping syncs reading the same cursor) and one poll's worker crashes between the fetch
   and the commit. Plays lost and doubled are counted against what was played.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import setup_django
from bench.fake_library import FakeAccount, make_track
from bench.fake_spotify import FakeSpotify

SPOTIFY_USUAL_BUDGET = (90, 30.0)  # calls per rolling window (s): the project's default


def budget_floor(calls: int) -> float:
    """The least time Spotify's usual budget allows for ``calls`` (the first window at once)."""
    per, window = SPOTIFY_USUAL_BUDGET
    return max(0, (calls - 1) // per) * window


def make_connection(fake: FakeSpotify, account: FakeAccount, n: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from spotify_integration.models import SpotifyConnection
    from spotify_integration.vault import token_encrypt

    token = fake.add_account(account)
    user = get_user_model().objects.create(username=f"listener{n}")
    return SpotifyConnection.objects.create(
        user=user,
        account_id=f"acct{n}",
        spotify_user_id=account.user_id,
        access_token_encrypted=token_encrypt(plaintext=token),
        refresh_token_encrypted=token_encrypt(plaintext=f"refresh-{n}"),
        access_token_expires_at=timezone.now() + timedelta(days=1),
        authorized_at=timezone.now(),
    )


def client_for(connection: Any) -> Any:
    from spotify_integration.client import SpotifyClient
    from spotify_integration.lanes import Lane
    from spotify_integration.services.connections import ConnectionTokenStore

    return SpotifyClient.for_connection(
        connection, token_store=ConnectionTokenStore(), lane=Lane.LIBRARY
    )


# --- 1. playlists -------------------------------------------------------------------------
def bench_playlists(fake: FakeSpotify, args: Any) -> None:
    from library.models import PlaylistItem
    from library.services.playlists import playlists_sync

    account = FakeAccount(user_id="bench-owner")
    for n in range(args.playlists):
        account.add_playlist(n, items=args.items)
    connection = make_connection(fake, account, 0)
    print(
        f"playlists: {args.playlists} playlists x {args.items} items "
        f"({args.playlists * args.items} items), all owned by the user"
    )
    print(f"  {'run':<26} {'calls':>6} {'list':>5} {'items':>6} {'wall s':>7} {'floor s':>8}")
    for label in ("first sync", "unchanged", "5 playlists changed"):
        if label.startswith("5"):
            for playlist in account.playlists[:5]:
                playlist.items.append(make_track(900_000 + playlist.version))
                playlist.change()
        fake.reset_counters()
        started = time.perf_counter()
        playlists_sync(connection=connection, client=client_for(connection))
        wall = time.perf_counter() - started
        listing = fake.calls["GET /me/playlists"]
        items = fake.calls["GET /playlists/{id}/items"]
        print(
            f"  {label:<26} {fake.api_calls:>6} {listing:>5} {items:>6} {wall:>7.2f} "
            f"{budget_floor(fake.api_calls):>8.0f}"
        )
    stored = PlaylistItem.objects.filter(playlist__connection=connection).count()
    print(f"  items stored: {stored}")


# --- 2. fan-out ---------------------------------------------------------------------------
def bench_fan_out(fake: FakeSpotify, args: Any) -> None:
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings
    from django.db.models import Count

    from config.celery import app
    from library.services.schedule import library_fan_out
    from sync.models import SyncJob

    for n in range(1, args.connections + 1):
        account = FakeAccount(user_id=f"fan-{n}")
        account.add_playlist(1, items=2)
        for i in range(3):
            account.play(1_764_400_000_000 + i * 200_000, make_track(n * 10 + i))
        make_connection(fake, account, n)
    queue = f"encore-bench-library-{os.getpid()}"
    settings.SYNC_TASK_QUEUE = queue
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
    fake.reset_counters()
    started = time.perf_counter()
    report = library_fan_out()
    enqueue_s = time.perf_counter() - started
    jobs = sum(report.enqueued.values())
    print(
        f"fan-out: {report.connections} connections -> {jobs} jobs enqueued in {enqueue_s:.2f} s "
        f"({jobs / enqueue_s:.0f} jobs/s; skipped {dict(report.skipped) or 0}, "
        f"failed {report.failed})"
    )
    started = time.perf_counter()
    idle = library_fan_out()
    idle_s = time.perf_counter() - started
    print(
        f"  the fan-out again at once: {sum(idle.enqueued.values())} jobs, {idle_s:.2f} s "
        "(nothing due: reading the connections and their states)"
    )
    t0 = time.perf_counter()
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], loglevel="ERROR"):
        deadline = t0 + args.timeout
        while SyncJob.objects.filter(status__in=["pending", "running"]).exists():
            if time.perf_counter() > deadline:
                sys.exit("fan-out: timed out waiting for the worker")
            time.sleep(0.2)
    took = time.perf_counter() - t0
    statuses = dict(SyncJob.objects.order_by().values_list("status").annotate(n=Count("id")))
    print(
        f"  one worker: {jobs} jobs in {took:.1f} s = {jobs / took:.1f} jobs/s "
        f"(worker start-up included); outcomes {statuses}; Spotify calls {fake.api_calls}"
    )
    started = time.perf_counter()
    again = library_fan_out()
    again_s = time.perf_counter() - started
    print(
        f"  the fan-out after those {took:.0f} s: {dict(again.enqueued)} due again at their "
        f"slots, started in {again_s:.2f} s"
    )
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)
    app.conf.task_always_eager = True


# --- 3. a day of plays --------------------------------------------------------------------
def bench_day(fake: FakeSpotify, args: Any) -> None:
    from library.models import Play
    from library.services import plays as plays_module
    from library.services.plays import plays_sync

    rng = random.Random(12)
    account = FakeAccount(user_id="day-listener")
    connection = make_connection(fake, account, 999_999)
    day = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    played: list[tuple[int, dict[str, Any]]] = []
    t = day
    while t < day + timedelta(hours=16):
        t += timedelta(seconds=rng.randint(120, 360), milliseconds=rng.randint(0, 999))
        played.append((int(t.timestamp() * 1000), make_track(rng.randint(0, 400))))
    polls = overlaps = crashes = 0
    crash_at = 20
    real_store = plays_module.plays_store

    def crashing_store(**kwargs: Any) -> Any:
        real_store(**kwargs)
        raise SystemExit("worker killed between fetch and commit")

    poll_times = [day + timedelta(minutes=15 * k) for k in range(1, 16 * 4 + 2)]
    fake.reset_counters()
    for k, now in enumerate(poll_times):
        now_ms = int(now.timestamp() * 1000)
        account.plays = [p for p in played if p[0] <= now_ms]
        polls += 1
        if k == crash_at:
            plays_module.plays_store = crashing_store  # type: ignore[assignment]
            try:
                plays_sync(connection=connection, client=client_for(connection))
            except SystemExit:
                crashes += 1
            finally:
                plays_module.plays_store = real_store
            continue
        if k % 4 == 3:  # two syncs at once, reading the same cursor
            overlaps += 1
            threads = [
                threading.Thread(target=_sync_in_thread, args=(connection,)) for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            continue
        plays_sync(connection=connection, client=client_for(connection))
    stored = list(Play.objects.filter(connection=connection).values_list("played_at", "track_id"))
    expected = {(datetime.fromtimestamp(ms / 1000, tz=UTC), track["id"]) for ms, track in played}
    doubled = len(stored) - len(set(stored))
    lost = len(expected - set(stored))
    per_poll = [
        sum(1 for ms, _ in played if prev < ms <= int(now.timestamp() * 1000))
        for prev, now in zip(
            [0, *[int(p.timestamp() * 1000) for p in poll_times]], poll_times, strict=False
        )
    ]
    print(
        f"a day of plays: {len(played)} plays in 16 h, {polls} polls every 15 min "
        f"({overlaps} of them two syncs at once, {crashes} worker crash between fetch and "
        f"commit); at most {max(per_poll)} plays between polls (median "
        f"{statistics.median(per_poll):.0f})"
    )
    print(
        f"  stored {len(stored)}, plays lost {lost}, doubled {doubled}; "
        f"Spotify calls {fake.api_calls}"
    )
    if lost or doubled:
        sys.exit("plays were lost or doubled")


def _sync_in_thread(connection: Any) -> None:
    from django.db import connection as db

    from library.services.plays import plays_sync

    try:
        plays_sync(connection=connection, client=client_for(connection))
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--playlists", type=int, default=200)
    parser.add_argument("--items", type=int, default=25)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=100_000, help="budget calls per 30 s")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
    os.environ["CACHE_KEY_PREFIX"] = "encore-bench-library"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["SPOTIFY_CLIENT_ID"] = "bench-client"
    os.environ["SPOTIFY_CLIENT_SECRET"] = "bench-secret"  # noqa: S105 - the fake's
    os.environ["SPOTIFY_RATE_LIMIT_CALLS"] = str(args.budget)
    os.environ["TOKEN_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    setup_django("encore_bench_library")
    from django.conf import settings
    from django.core.cache import cache

    fake = FakeSpotify()
    api_url, accounts_url = fake.start()
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = api_url, accounts_url
    cache.delete_pattern("*")  # type: ignore[attr-defined]  # this prefix's keys only
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    try:
        bench_playlists(fake, args)
        bench_day(fake, args)
        bench_fan_out(fake, args)
    finally:
        fake.stop()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
