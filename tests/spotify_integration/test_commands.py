"""manage.py spotify_check (rotate_token_keys is proven in test_vault.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from spotify_integration.ratelimit import spotify_pause
from tests.spotify_integration.fakes import token_body


def test_spotify_check_gets_an_app_token_and_reports(spotify):
    spotify.token(token_body(refresh=False, scope=None))
    out = StringIO()
    call_command("spotify_check", stdout=out)
    text = out.getvalue()
    assert "App mode: development" in text
    assert "Paused for rate limits: no" in text
    assert "App credentials OK" in text
    assert len(spotify.token_calls("client_credentials")) == 1


def test_spotify_check_reports_a_pause(spotify):
    spotify.token(token_body(refresh=False, scope=None))
    spotify_pause(retry_after=120)
    out = StringIO()
    call_command("spotify_check", stdout=out)
    assert "Paused for rate limits: yes" in out.getvalue()


def test_spotify_check_fails_on_bad_credentials(spotify):
    spotify.token({"error": "invalid_client", "error_description": "Invalid client"}, status=400)
    with pytest.raises(CommandError) as exc:
        call_command("spotify_check", stdout=StringIO())
    assert "spotify_app_unauthorized" in str(exc.value)


@override_settings(SPOTIFY_CLIENT_ID="", SPOTIFY_CLIENT_SECRET="")
def test_spotify_check_says_when_not_configured():
    with pytest.raises(CommandError) as exc:
        call_command("spotify_check", stdout=StringIO())
    assert "not configured" in str(exc.value)
