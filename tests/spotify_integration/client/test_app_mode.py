"""The app's mode: development mode never calls batch or removed endpoints; in extended mode
a refusal is remembered per process and in the cache."""

from __future__ import annotations

import pytest
from django.test import override_settings

from spotify_integration.client import SpotifyClient
from spotify_integration.client.app_mode import endpoint_memory_clear_process
from spotify_integration.exceptions import SpotifyForbiddenByAppMode
from tests.spotify_integration.fakes import API, error_body, track_body

TRACK = "4u7EnebtmKWzUH433cf5Qv"
OTHER = "7tFiyTwD0nx5a1eklYtX2J"


@override_settings(SPOTIFY_APP_MODE="development")
def test_development_mode_never_calls_batch_endpoints(spotify):
    spotify.token()
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
    spotify.api(
        "GET", "/tracks/{id}", path=f"/tracks/{OTHER}", status=404, body=error_body(404, "Nope")
    )
    result = SpotifyClient.for_app().tracks([TRACK, OTHER])
    assert result[0]["id"] == TRACK and result[1] is None
    assert all("/tracks?" not in c.request.url for c in spotify.calls_to(API))
    with pytest.raises(SpotifyForbiddenByAppMode):
        SpotifyClient.for_app().audio_features([TRACK])
    assert not [c for c in spotify.calls_to(API) if "audio-features" in c.request.url]


@override_settings(SPOTIFY_APP_MODE="extended")
def test_extended_mode_uses_batches(spotify):
    spotify.token()
    spotify.api("GET", "/tracks", body={"tracks": [track_body(TRACK), track_body(OTHER, "Other")]})
    result = SpotifyClient.for_app().tracks([TRACK, OTHER])
    assert [t["id"] for t in result] == [TRACK, OTHER]
    assert len(spotify.calls_to(API)) == 1
    assert f"ids={TRACK}%2C{OTHER}" in spotify.calls_to(API)[0].request.url


@override_settings(SPOTIFY_APP_MODE="extended")
def test_a_refused_batch_endpoint_is_remembered_and_not_called_again(spotify):
    spotify.token()
    spotify.api("GET", "/tracks", status=403, body=error_body(403, "Forbidden"))
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
    assert SpotifyClient.for_app().tracks([TRACK])[0]["id"] == TRACK  # fell back to singles
    batch_calls = lambda: [c for c in spotify.calls_to(API) if "/tracks?" in c.request.url]  # noqa: E731
    assert len(batch_calls()) == 1

    SpotifyClient.for_app().tracks([TRACK])
    assert len(batch_calls()) == 1  # remembered in this process

    # Another process (empty process memory) learns it from the cache.
    endpoint_memory_clear_process()
    SpotifyClient.for_app().tracks([TRACK])
    assert len(batch_calls()) == 1


@override_settings(SPOTIFY_APP_MODE="extended")
def test_removed_endpoint_404_is_remembered(spotify):
    spotify.token()
    spotify.api("GET", "/audio-features", status=403, body=error_body(403, "Forbidden"))
    for _ in range(2):
        with pytest.raises(SpotifyForbiddenByAppMode):
            SpotifyClient.for_app().audio_features([TRACK])
    assert len([c for c in spotify.calls_to(API) if "audio-features" in c.request.url]) == 1
