"""Helpers of the Spotify fault tests: bench's fake Spotify (a real HTTP server on a loopback
port) with Encore pointed at it, a catalog and a connected user it serves, and a job driver."""

from __future__ import annotations

import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from bench.enrich import catalog
from bench.fake_library import FakeAccount, make_track
from bench.fake_spotify import FakeSpotify, error
from catalog.models import Song
from catalog.services import song_records_upsert
from spotify_integration.models import SpotifyConnection
from spotify_integration.vault import token_encrypt
from sync.models import JobStatus, SyncJob
from sync.services.runner import job_run
from tests.spotify_integration.openapi import validate_response

SONGS = 24
PLAYLISTS = 8
ITEMS = 5  # a playlist's items
PLAYS = 6
FIRST_PLAY_MS = 1_764_400_000_000
LIBRARY_PATHS = ("/me/playlists", "/playlists/{playlist_id}/items", "/me/player/recently-played")


def forget_spotify_state() -> None:
    """This xdist worker's cache (app token, searches, breaker, pause mark) and the budget."""
    from django.core.cache import cache

    from spotify_integration.client import endpoint_memory_clear
    from spotify_integration.ratelimit import spotify_limiter, spotify_pause_clear

    cache.delete_pattern("*")  # type: ignore[attr-defined]  # this worker's prefix only
    endpoint_memory_clear()
    spotify_limiter().reset()
    spotify_pause_clear()


def check_fault_bodies(fake: FakeSpotify) -> None:
    """The error bodies the fake's fault modes send fit the OpenAPI description, on every path
    the tests call."""
    bodies = [
        (fake.error_status, error(fake.error_status, "Service unavailable")),
        (429, error(429, "API rate limit exceeded", "RATE_LIMITED")),
    ]
    for path in ("/search", *LIBRARY_PATHS):
        for status, body in bodies:
            validate_response(path, "GET", status, body)


def load_catalog() -> set[int]:
    """The songs of the fake's tracks (bench/enrich.py's set), unmatched; their ids."""
    _, records = catalog(SONGS)
    song_records_upsert(records=records)
    titles = [r.title for r in records]
    return set(Song.objects.filter(title__in=titles).values_list("pk", flat=True))


def library_account() -> FakeAccount:
    account = FakeAccount(user_id="fault-owner")
    for n in range(PLAYLISTS):
        account.add_playlist(n, items=ITEMS)
    for i in range(PLAYS):
        account.play(FIRST_PLAY_MS + i * 200_000, make_track(90_000 + i))
    return account


def connect(fake: FakeSpotify, account: FakeAccount) -> SpotifyConnection:
    """A user whose connection's access token the fake serves ``account``'s library for."""
    token = fake.add_account(account)
    user = get_user_model().objects.create(username=f"user-{account.user_id}")
    return SpotifyConnection.objects.create(
        user=user,
        account_id=f"acct-{account.user_id}",
        spotify_user_id=account.user_id,
        access_token_encrypted=token_encrypt(plaintext=token),
        refresh_token_encrypted=token_encrypt(plaintext=f"refresh-{account.user_id}"),
        access_token_expires_at=timezone.now() + timedelta(days=1),
        authorized_at=timezone.now(),
    )


def drive(job_id: int, *, runs: int = 10) -> tuple[SyncJob, list[float]]:
    """Run the job as a worker does (``job_run``), again while it is pending and due (its
    retries), at most ``runs`` times; the job as it ended and each run's seconds."""
    took: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = job_run(job_id=job_id, worker="fault-test", schedule_retry=False)
        took.append(time.perf_counter() - started)
        job = SyncJob.objects.get(pk=job_id)
        due = job.next_attempt_at is None or job.next_attempt_at <= timezone.now() + timedelta(
            seconds=1
        )
        if not outcome.claimed or job.status != JobStatus.PENDING or not due:
            return job, took
    return SyncJob.objects.get(pk=job_id), took
