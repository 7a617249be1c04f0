"""Operators see a Spotify pause: the WARNING of the 429, a banner in the admin with the time
it ends, and ``manage.py spotify_unpause`` lifts it (issue 14)."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command

from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import SpotifyRateLimited
from spotify_integration.ratelimit import spotify_pause, spotify_paused_for
from tests.spotify_integration.fakes import error_body

pytestmark = pytest.mark.django_db

TRACK = "4u7EnebtmKWzUH433cf5Qv"


def test_a_429_logs_a_warning_with_retry_after_and_the_reason(spotify, caplog):
    spotify.token()
    spotify.api(
        "GET",
        "/tracks/{id}",
        path=f"/tracks/{TRACK}",
        status=429,
        body=error_body(429, "Too many requests", "QUOTA_EXCEEDED"),
        headers={"Retry-After": "3600"},
    )
    with caplog.at_level(logging.WARNING), pytest.raises(SpotifyRateLimited):
        SpotifyClient.for_app().track(TRACK)
    [record] = [r for r in caplog.records if getattr(r, "reason", None)]
    assert record.levelno == logging.WARNING
    assert (record.retry_after, record.reason) == (3600, "QUOTA_EXCEEDED")
    assert "3600" in record.getMessage() and "QUOTA_EXCEEDED" in record.getMessage()


def test_the_admin_shows_the_pause_and_when_it_ends(client, staff_user):
    client.force_login(staff_user)
    assert 'id="spotify-pause"' not in client.get("/admin/").content.decode()
    spotify_pause(retry_after=600)
    for page in ("/admin/", "/admin/sync/syncjob/"):
        html = client.get(page).content.decode()
        assert 'id="spotify-pause"' in html and "UTC" in html and "spotify_unpause" in html


def test_spotify_unpause_lifts_the_pause(capsys):
    spotify_pause(retry_after=600)
    assert spotify_paused_for() > 0
    call_command("spotify_unpause")
    assert spotify_paused_for() == 0
    assert "Lifted the Spotify pause" in capsys.readouterr().out
    call_command("spotify_unpause")
    assert "not paused" in capsys.readouterr().out
