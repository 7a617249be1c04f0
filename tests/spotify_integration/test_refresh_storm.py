"""invalid_grant: one user's dead grant is marked; a storm of them pauses refreshes instead.

Real PostgreSQL and Redis (the counters and the pause mark live in the shared cache); the
accounts service is mocked at the wire.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from core import metrics
from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import SpotifyReauthRequired, SpotifyRefreshesPaused
from spotify_integration.models import ConnectionStatus, SpotifyConnection, add_months
from spotify_integration.ratelimit import redis_client
from spotify_integration.refresh_guard import (
    refresh_figures,
    refresh_pause,
    refresh_pause_clear,
    refreshes_paused_for,
)
from spotify_integration.selectors import connection_health
from tests.spotify_integration.factories import SpotifyConnectionFactory
from tests.spotify_integration.fakes import API, me_body, token_body

pytestmark = pytest.mark.django_db

INVALID = {"error": "invalid_grant", "error_description": "Refresh token revoked"}


def _due_for_refresh(**kwargs) -> SpotifyConnection:
    conn: SpotifyConnection = SpotifyConnectionFactory(
        access_token_expires_at=datetime.now(tz=UTC) + timedelta(seconds=5), **kwargs
    )
    return conn


def _authorized_ending_within_hours() -> datetime:
    """An authorization date whose 6 months end a few hours from now (any calendar date)."""
    now = timezone.now()
    for hours in range(178 * 24, 186 * 24):
        candidate = now - timedelta(hours=hours)
        if timedelta(hours=1) < add_months(candidate, 6) - now < timedelta(hours=20):
            return candidate
    raise AssertionError("no such date")  # pragma: no cover


def _call(conn: SpotifyConnection, token_store) -> None:
    SpotifyClient.for_connection(conn, token_store=token_store).me()


@pytest.fixture(autouse=True)
def _fresh_figures():
    metrics.metrics_store().clear()
    refresh_pause_clear()
    yield
    refresh_pause_clear()


def _refreshes() -> dict[str, float]:
    return metrics.metrics_store().read().get("encore_spotify_token_refreshes", {})


def test_the_figures_and_pause_are_shared_through_redis(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    assert redis_client() is not None


def test_one_users_invalid_grant_marks_only_that_connection(spotify, token_store):
    # Given 9 connections whose refreshes Spotify grants and one it refuses
    for _ in range(9):
        spotify.token(token_body())
    healthy = [_due_for_refresh() for _ in range(9)]
    spotify.api("GET", "/me", body=me_body())
    for conn in healthy:
        _call(conn, token_store)
    spotify.rsps.reset()
    spotify.token(INVALID, status=400)
    revoked = _due_for_refresh()

    # When the refused one is used
    with pytest.raises(SpotifyReauthRequired):
        _call(revoked, token_store)

    # Then it alone needs the user to connect again; refreshes go on
    revoked.refresh_from_db()
    assert revoked.status == ConnectionStatus.NEEDS_REAUTH
    assert connection_health(revoked).state == "needs_reauth"
    assert "Refresh token revoked" in connection_health(revoked).reason
    assert refreshes_paused_for() == 0
    assert refresh_figures().refreshed == 10 and refresh_figures().invalid == 1
    assert SpotifyConnection.objects.filter(status=ConnectionStatus.ACTIVE).count() == 9
    assert _refreshes() == {'["ok"]': 9.0, '["invalid_grant"]': 1.0}


@override_settings(
    SPOTIFY_INVALID_GRANT_STORM_MIN=5,
    SPOTIFY_INVALID_GRANT_STORM_RATIO=0.2,
    SPOTIFY_REFRESH_STORM_PAUSE_SECONDS=900,
)
def test_a_storm_of_invalid_grants_pauses_refreshes_keeps_tokens_and_alerts(
    spotify, token_store, caplog
):
    # Given 10 granted refreshes, then Spotify refusing every refresh token
    for _ in range(10):
        spotify.token(token_body())
    spotify.api("GET", "/me", body=me_body())
    for conn in [_due_for_refresh() for _ in range(10)]:
        _call(conn, token_store)
    spotify.rsps.reset()
    spotify.token(INVALID, status=400)
    victims = [_due_for_refresh() for _ in range(8)]
    stored = {c.pk: c.refresh_token_encrypted for c in victims}

    # When they are used one after another
    outcomes = []
    for conn in victims:
        try:
            _call(conn, token_store)
        except (SpotifyReauthRequired, SpotifyRefreshesPaused) as exc:
            outcomes.append(type(exc).__name__)

    # Then the first four were refused one by one (4 of 14 is under 5), the fifth is a
    # storm: refreshes pause, and the rest are refused without asking Spotify at all
    assert outcomes == ["SpotifyReauthRequired"] * 4 + ["SpotifyRefreshesPaused"] * 4
    assert len(spotify.token_calls("refresh_token")) == 5
    assert 890 <= refreshes_paused_for() <= 900
    # No connection is left marked, and every token is kept (the first four are restored)
    for conn in victims:
        conn.refresh_from_db()
        assert conn.status == ConnectionStatus.ACTIVE, conn.last_error
        assert conn.refresh_token_encrypted == stored[conn.pk]
        assert connection_health(conn).state == "active"
    # An ERROR alert and the metric
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("Spotify incident" in r.getMessage() for r in errors)
    assert _refreshes()['["storm"]'] == 1.0
    assert _refreshes()['["paused"]'] == 3.0
    # The answer to a person is a rate limit with Retry-After, not a reconnect demand
    with pytest.raises(SpotifyRefreshesPaused) as exc:
        _call(victims[0], token_store)
    assert exc.value.retry_after > 800 and exc.value.code == "spotify_refreshes_paused"


@override_settings(SPOTIFY_INVALID_GRANT_STORM_MIN=5, SPOTIFY_INVALID_GRANT_STORM_RATIO=0.2)
def test_five_invalid_grants_among_many_refreshes_are_not_a_storm(spotify, token_store):
    # 5 of 30 (17 %) is under the ratio: users who revoked, each marked
    for _ in range(25):
        spotify.token(token_body())
    spotify.api("GET", "/me", body=me_body())
    for conn in [_due_for_refresh() for _ in range(25)]:
        _call(conn, token_store)
    spotify.rsps.reset()
    spotify.token(INVALID, status=400)
    for conn in [_due_for_refresh() for _ in range(5)]:
        with pytest.raises(SpotifyReauthRequired):
            _call(conn, token_store)
    assert refreshes_paused_for() == 0
    assert SpotifyConnection.objects.filter(status=ConnectionStatus.NEEDS_REAUTH).count() == 5


def test_a_fresh_token_needs_no_refresh_while_refreshes_are_paused(spotify, token_store):
    refresh_pause(seconds=60)
    conn = SpotifyConnectionFactory()  # its access token is good for an hour
    spotify.api("GET", "/me", body=me_body())
    _call(conn, token_store)
    assert len(spotify.calls_to(API)) == 1 and not spotify.token_calls()


@override_settings(SPOTIFY_INVALID_GRANT_STORM_MIN=5, SPOTIFY_INVALID_GRANT_STORM_RATIO=0.2)
def test_connections_reaching_their_six_months_together_are_not_a_storm(spotify, token_store):
    # Ten users who connected on the same day reach the end of their 6 months the same hour
    spotify.token(INVALID, status=400)
    authorized = _authorized_ending_within_hours()
    ending = [_due_for_refresh(authorized_at=authorized) for _ in range(10)]
    for conn in ending:
        with pytest.raises(SpotifyReauthRequired):
            _call(conn, token_store)
    assert refreshes_paused_for() == 0 and refresh_figures().invalid == 0
    for conn in ending:
        conn.refresh_from_db()
        assert conn.status == ConnectionStatus.NEEDS_REAUTH
        assert conn.last_error.startswith("Spotify's 6-month authorization ended")


def test_an_expired_connection_is_refused_without_asking_spotify(spotify, token_store):
    conn = SpotifyConnectionFactory(authorized_at=timezone.now() - timedelta(days=200))
    with pytest.raises(SpotifyReauthRequired) as exc:
        _call(conn, token_store)
    assert exc.value.detail["reason"] == "expired"
    assert not spotify.rsps.calls
    assert connection_health(conn).state == "expired"


def test_the_command_shows_the_figures_and_resumes_refreshes():
    refresh_pause(seconds=600)
    out = StringIO()
    call_command("spotify_refreshes", stdout=out)
    assert re.search(r"Token refreshes: paused, (600|599) s left", out.getvalue())
    assert "0 refreshes, 0 invalid_grant" in out.getvalue()
    out = StringIO()
    call_command("spotify_refreshes", "--resume", stdout=out)
    assert "Token refreshes resumed." in out.getvalue()
    assert "Token refreshes: running" in out.getvalue() and refreshes_paused_for() == 0
