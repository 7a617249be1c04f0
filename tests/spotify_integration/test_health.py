"""connection_health: the one rule for a connection's lifecycle state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from spotify_integration.models import ConnectionStatus
from spotify_integration.selectors import connection_health
from tests.spotify_integration.factories import SpotifyConnectionFactory

pytestmark = pytest.mark.django_db

AUTHORIZED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # the refresh token dies 2026-12-01 12:00
EXPIRES = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_fresh_connection_is_active_and_says_when_it_expires():
    conn = SpotifyConnectionFactory(authorized_at=AUTHORIZED)
    health = connection_health(conn, now=AUTHORIZED + timedelta(days=30))
    assert (health.state, health.reason, health.expires_at) == ("active", "", EXPIRES)
    assert health.usable


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (EXPIRES - timedelta(days=14, seconds=1), "active"),
        (EXPIRES - timedelta(days=14), "expiring"),
        (EXPIRES - timedelta(seconds=1), "expiring"),
        (EXPIRES, "expired"),
        (EXPIRES + timedelta(days=40), "expired"),
    ],
)
def test_expiring_within_the_warning_days_and_expired_past_six_months(now, state):
    conn = SpotifyConnectionFactory(authorized_at=AUTHORIZED)
    health = connection_health(conn, now=now)
    assert health.state == state
    assert health.usable is (state != "expired")
    if state != "active":
        assert "2026-12-01" in health.reason


@override_settings(SPOTIFY_EXPIRY_WARNING_DAYS=30)
def test_the_warning_days_are_a_setting():
    conn = SpotifyConnectionFactory(authorized_at=AUTHORIZED)
    assert connection_health(conn, now=EXPIRES - timedelta(days=29)).state == "expiring"


def test_needs_reauth_wins_and_carries_the_recorded_reason():
    conn = SpotifyConnectionFactory(
        authorized_at=AUTHORIZED,
        status=ConnectionStatus.NEEDS_REAUTH,
        last_error="Spotify refused the refresh token (invalid_grant: Refresh token revoked).",
    )
    health = connection_health(conn, now=EXPIRES + timedelta(days=1))
    assert health.state == "needs_reauth" and "Refresh token revoked" in health.reason
    assert not health.usable


def test_an_active_row_without_a_refresh_token_needs_reauth():
    conn = SpotifyConnectionFactory(authorized_at=AUTHORIZED, refresh_token_encrypted="")
    assert connection_health(conn, now=AUTHORIZED).state == "needs_reauth"


def test_profile_pending_until_me_is_read_but_expiry_still_wins():
    conn = SpotifyConnectionFactory(authorized_at=AUTHORIZED, profile_pending=True, account_id=None)
    health = connection_health(conn, now=AUTHORIZED)
    assert health.state == "profile_pending" and health.usable and "pause" in health.reason
    assert connection_health(conn, now=EXPIRES).state == "expired"


def test_the_status_api_shows_the_state_and_its_reason(user):
    SpotifyConnectionFactory(user=user, authorized_at=timezone.now() - timedelta(days=175))
    client = APIClient()
    client.force_login(user)
    data = client.get("/api/spotify/status/").json()
    assert data["state"] == "expiring" and "connect again" in data["state_reason"]
    assert data["refresh_token_expired"] is False and data["profile_pending"] is False
