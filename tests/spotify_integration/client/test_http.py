"""HTTP plumbing: timeouts, the retry policy, and every requests failure becoming ours."""

from __future__ import annotations

import pytest
import requests
import responses
from django.test import override_settings

from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.client import http as spotify_http
from spotify_integration.exceptions import SpotifyUnavailable
from tests.spotify_integration.fakes import API, error_body, token_body, track_body

TRACK = "4u7EnebtmKWzUH433cf5Qv"


def test_settings_point_the_client_at_another_server(spotify):
    with override_settings(
        SPOTIFY_API_URL="https://staging-proxy.test/v1",
        SPOTIFY_ACCOUNTS_URL="https://staging-accounts.test",
    ):
        spotify.rsps.add(
            responses.POST, "https://staging-accounts.test/api/token", json=token_body()
        )
        spotify.rsps.add(
            responses.GET, f"https://staging-proxy.test/v1/tracks/{TRACK}", json=track_body(TRACK)
        )
        assert SpotifyClient.for_app().track(TRACK)["id"] == TRACK


def test_5xx_is_retried_with_a_bound_then_succeeds(spotify):
    spotify.token()
    url = f"/tracks/{TRACK}"
    spotify.api("GET", "/tracks/{id}", path=url, status=503, body=error_body(503, "Service down"))
    spotify.api("GET", "/tracks/{id}", path=url, body=track_body(TRACK))
    with count_spotify_calls() as calls:
        assert SpotifyClient.for_app().track(TRACK)["name"] == "Bohemian Rhapsody"
    assert [c.status for c in calls.calls if c.endpoint == "GET /tracks/{id}"] == [503, 200]


def test_5xx_retries_are_bounded_then_unavailable(spotify):
    spotify.token()
    spotify.api(
        "GET", "/tracks/{id}", path=f"/tracks/{TRACK}", status=502, body=error_body(502, "Bad gw")
    )
    with pytest.raises(SpotifyUnavailable):
        SpotifyClient.for_app().track(TRACK)
    assert len(spotify.calls_to(API)) == spotify_http.MAX_ATTEMPTS


def test_network_errors_are_retried_then_unavailable(spotify):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body=requests.ConnectionError("down"))
    with count_spotify_calls() as calls, pytest.raises(SpotifyUnavailable):
        SpotifyClient.for_app().track(TRACK)
    assert calls.by_status().get(None) == spotify_http.MAX_ATTEMPTS


def test_timeouts_are_always_set(spotify):
    spotify.token()
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
    seen: list[object] = []
    original = requests.Session.send

    def spy(self, request, **kwargs):
        seen.append(kwargs.get("timeout"))
        return original(self, request, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(requests.Session, "send", spy)
        SpotifyClient.for_app().track(TRACK)
    assert seen and all(t == 10.0 for t in seen)
