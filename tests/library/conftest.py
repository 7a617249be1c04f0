"""Fixtures for the library tests: a connection, its Spotify library at the wire, the worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from bench.fake_library import FakeAccount
from spotify_integration.models import SpotifyConnection
from tests.library.wire import LibraryWire
from tests.spotify_integration.conftest import (  # noqa: F401 (fixtures)
    _isolated_spotify_state,
    _no_token_in_logs,
    make_connection,
)
from tests.spotify_integration.factories import SpotifyConnectionFactory, UserFactory
from tests.sync.conftest import celery_worker, import_dir  # noqa: F401 (fixtures)


@pytest.fixture
def connection(db: None) -> SpotifyConnection:
    result: SpotifyConnection = SpotifyConnectionFactory(
        user=UserFactory(username="listener"), spotify_user_id="listener-sp"
    )
    return result


@pytest.fixture
def account(connection: SpotifyConnection) -> FakeAccount:
    return FakeAccount(user_id=connection.spotify_user_id)


@pytest.fixture
def wire(account: FakeAccount) -> Iterator[LibraryWire]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield LibraryWire(rsps, account)


def other_connection(**kwargs: Any) -> SpotifyConnection:
    result: SpotifyConnection = SpotifyConnectionFactory(**kwargs)
    return result
