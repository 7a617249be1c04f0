"""Fixtures of the fault tests: a throwaway Redis, and Encore pointed at it; bench's fake
Spotify, and Encore pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.enrich import catalog
from bench.fake_spotify import FakeSpotify
from tests.proof.services import ThrowawayRedis
from tests.proof.spotify import SONGS, check_fault_bodies, forget_spotify_state


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def on_redis(settings: Any, redis_server: ThrowawayRedis) -> Iterator[ThrowawayRedis]:
    """Encore's cache, metrics, throttles and Celery broker on the throwaway Redis, with
    messages really published (not run eagerly)."""
    from config.celery import app
    from core.metrics import metrics_reset_store
    from core.shared_state import cache_failure_reset

    # Read before anything changes: the app's configuration is loaded from Django's settings on
    # first use, and must come back as it was for the tests that follow in this process.
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": redis_server.url,
        }
    }

    def use_broker(url: str, eager: bool) -> None:
        app.conf.broker_url, app.conf.task_always_eager = url, eager
        app._after_fork()  # drop the pooled connections to the old broker

    use_broker(redis_server.url, False)
    metrics_reset_store()
    cache_failure_reset()
    try:
        yield redis_server
    finally:
        use_broker(*saved)
        metrics_reset_store()
        cache_failure_reset()


@pytest.fixture
def fake_spotify(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSpotify]:
    """The fake on a free port, serving a small catalog's tracks; the budget raised so that
    what a test sees is the fault, not Encore's own limiter; the client's backoff between
    retries shortened (it still sleeps: the code path is the production one)."""
    from spotify_integration.client import http as spotify_http

    tracks, _ = catalog(SONGS)
    fake = FakeSpotify(tracks=tracks, seed=14)
    check_fault_bodies(fake)
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = fake.start()
    settings.SPOTIFY_RATE_LIMIT_CALLS = 10_000
    settings.SYNC_RETRY_BASE_DELAY = 0  # a transient failure's retry is due at once
    monkeypatch.setattr(spotify_http, "RETRY_BACKOFF_SECONDS", 0.01)
    forget_spotify_state()
    try:
        yield fake
    finally:
        fake.stop()
        forget_spotify_state()
