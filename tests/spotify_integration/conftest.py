"""Fixtures for the Spotify integration: Spotify mocked at the HTTP wire, real Postgres/Redis.

The fake Spotify lives in ``fakes.py``, the model factories in ``factories.py``. Every token
value the fake Spotify (or a factory) hands out is remembered, and after each test no captured
log record may contain one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.utils import timezone

from spotify_integration.client import endpoint_memory_clear
from spotify_integration.client import http as spotify_http
from spotify_integration.models import SpotifyConnection
from spotify_integration.ratelimit import spotify_limiter
from spotify_integration.services.connections import ConnectionTokenStore
from tests.spotify_integration.factories import SpotifyConnectionFactory
from tests.spotify_integration.fakes import ALL_SCOPES, ISSUED_SECRETS, FakeSpotify


@pytest.fixture
def spotify() -> Iterator[FakeSpotify]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeSpotify(rsps)


def _clear_worker_cache() -> None:
    # Only this xdist worker's keys (the prefix is per worker): never FLUSHDB a shared Redis.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


def _forget_spotify_state() -> None:
    _clear_worker_cache()
    endpoint_memory_clear()
    # Without Redis the app's budget lives in this process, not in the cache: reset it too, so
    # no test starts with slots another test took.
    spotify_limiter().reset()


@pytest.fixture(autouse=True)
def _isolated_spotify_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _forget_spotify_state()
    monkeypatch.setattr(spotify_http, "RETRY_BACKOFF_SECONDS", 0)
    ISSUED_SECRETS.clear()
    yield
    _forget_spotify_state()


@pytest.fixture(autouse=True)
def _no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """After every test: no captured log record (message, args, extras, traceback) holds a
    token value the fake Spotify issued."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        text = record.getMessage() + " " + json.dumps(vars(record), default=str)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        leaked = [s for s in ISSUED_SECRETS if s in text]
        assert not leaked, f"a token leaked into the log record {record.name}: {record.msg!r}"


@pytest.fixture
def make_connection(db: None) -> Callable[..., SpotifyConnection]:
    """A connection as a completed OAuth flow leaves it; token values are remembered."""

    def make(
        user: Any,
        *,
        account_id: str = "aB3dE5fG7h",
        expires_in: int = 3600,
        scopes: list[str] | None = None,
    ) -> SpotifyConnection:
        connection: SpotifyConnection = SpotifyConnectionFactory(
            user=user,
            account_id=account_id,
            access_token_expires_at=timezone.now() + timedelta(seconds=expires_in),
            granted_scopes=sorted(set(ALL_SCOPES if scopes is None else scopes)),
        )
        return connection

    return make


@pytest.fixture
def token_store() -> ConnectionTokenStore:
    """The app's token store, which a connection's client is given."""
    return ConnectionTokenStore()
