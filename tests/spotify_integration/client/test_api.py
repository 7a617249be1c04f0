"""The Web API client: error codes, ids, 429 handling, counting, 401s and the 2026 paths."""

from __future__ import annotations

import time

import pytest

from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.exceptions import (
    SpotifyForbidden,
    SpotifyForbiddenByScope,
    SpotifyNotFound,
    SpotifyRateLimited,
    SpotifyUnavailable,
)
from spotify_integration.models import ConnectionStatus
from spotify_integration.ratelimit import spotify_pause, spotify_pause_clear, spotify_paused_for
from tests.spotify_integration.fakes import API, error_body, me_body, track_body

TRACK = "4u7EnebtmKWzUH433cf5Qv"
OTHER = "7tFiyTwD0nx5a1eklYtX2J"


def test_not_found_and_forbidden_map_to_codes(spotify):
    spotify.token()
    spotify.api(
        "GET",
        "/tracks/{id}",
        path=f"/tracks/{TRACK}",
        status=404,
        body=error_body(404, "Not found"),
    )
    spotify.api(
        "GET",
        "/playlists/{playlist_id}/items",
        path="/playlists/37i9dQZF1DXcBWIGoYBM5M/items",
        status=403,
        body=error_body(403, "Forbidden"),
    )
    spotify.api("GET", "/me", status=403, body=error_body(403, "Insufficient client scope"))
    app = SpotifyClient.for_app()
    with pytest.raises(SpotifyNotFound) as not_found:
        app.track(TRACK)
    assert not_found.value.code == "spotify_not_found"
    with pytest.raises(SpotifyForbidden) as forbidden:
        app.playlist_items(playlist_id="37i9dQZF1DXcBWIGoYBM5M")
    assert forbidden.value.code == "spotify_forbidden"
    with pytest.raises(SpotifyForbiddenByScope):
        app.me()


def test_bad_ids_are_refused_before_calling(spotify):
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        SpotifyClient.for_app().track("../me")
    assert exc.value.message.startswith("track_id")
    assert not spotify.rsps.calls


def test_429_returns_at_once_and_pauses_every_caller(spotify):
    spotify.token()
    spotify.api(
        "GET",
        "/tracks/{id}",
        path=f"/tracks/{TRACK}",
        status=429,
        body=error_body(429, "Too many requests", "QUOTA_EXCEEDED"),
        headers={"Retry-After": "3600"},
    )
    started = time.monotonic()
    with pytest.raises(SpotifyRateLimited) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert time.monotonic() - started < 2  # no sleep on the hour
    assert exc.value.retry_after == 3600
    assert exc.value.headers() == {"Retry-After": "3600"}
    assert exc.value.detail["reason"] == "QUOTA_EXCEEDED"
    assert len(spotify.calls_to(API)) == 1  # not retried

    # Another caller (a fresh client, as in another process) does not call Spotify at all.
    calls_before = len(spotify.rsps.calls)
    with pytest.raises(SpotifyRateLimited) as paused:
        SpotifyClient.for_app().track(OTHER)
    assert 3590 <= paused.value.retry_after <= 3600
    assert len(spotify.rsps.calls) == calls_before
    assert spotify_paused_for() > 3500


def test_a_short_retry_after_never_shortens_a_long_pause(spotify):
    spotify.token()
    for retry_after in ("3600", "2"):
        spotify_pause(retry_after=int(retry_after))
    assert spotify_paused_for() > 3500
    spotify_pause_clear()
    assert spotify_paused_for() == 0


def test_search_respects_the_2026_limits(spotify):
    spotify.token()
    spotify.api(
        "GET",
        "/search",
        body={
            "tracks": {
                "href": f"{API}search",
                "items": [track_body(TRACK)],
                "limit": 10,
                "next": None,
                "offset": 1000,
                "previous": None,
                "total": 1,
            }
        },
    )
    page = SpotifyClient.for_app().search_tracks(query="queen", limit=50, offset=5000)
    assert page["items"][0]["id"] == TRACK
    url = spotify.calls_to(API)[0].request.url
    assert "limit=10" in url and "offset=1000" in url and "type=track" in url


def test_every_call_is_counted_with_endpoint_status_and_duration(spotify):
    spotify.token()
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
    spotify.api(
        "GET", "/tracks/{id}", path=f"/tracks/{OTHER}", status=404, body=error_body(404, "Nope")
    )
    with count_spotify_calls() as outer:
        with count_spotify_calls() as inner:
            SpotifyClient.for_app().track(TRACK)
        with pytest.raises(SpotifyNotFound):
            SpotifyClient.for_app().track(OTHER)
    assert inner.total == 2  # token + track
    assert outer.total == 3
    assert outer.by_endpoint() == {
        "POST /api/token (client_credentials)": 1,
        "GET /tracks/{id}": 2,
    }
    assert outer.by_status() == {200: 2, 404: 1}
    assert all(c.duration_ms >= 0 for c in outer.calls)


def test_a_401_refreshes_once_then_retries(spotify, user, make_connection, token_store):
    conn = make_connection(user)
    spotify.api("GET", "/me", status=401, body=error_body(401, "The access token expired"))
    spotify.api("GET", "/me", body=me_body())
    spotify.token()
    assert (
        SpotifyClient.for_connection(conn, token_store=token_store).me()["account_id"]
        == "aB3dE5fG7h"
    )
    assert len(spotify.token_calls("refresh_token")) == 1
    auths = [c.request.headers["Authorization"] for c in spotify.calls_to(API)]
    assert auths[0] != auths[1]


def test_a_second_401_after_a_successful_refresh_is_transient_and_keeps_the_tokens(
    spotify, user, make_connection, token_store
):
    conn = make_connection(user)
    spotify.api("GET", "/me", status=401, body=error_body(401, "Invalid access token"))
    spotify.token()
    with pytest.raises(SpotifyUnavailable) as exc:
        SpotifyClient.for_connection(conn, token_store=token_store).me()
    assert exc.value.transient and exc.value.detail["reason"] == "UNAUTHORIZED_AFTER_REFRESH"
    assert len(spotify.token_calls("refresh_token")) == 1
    assert len(spotify.calls_to(API)) == 2
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.ACTIVE and conn.has_refresh_token
    # The next call works with the refreshed token: nothing was erased.
    spotify.api("GET", "/me", body=me_body())
    assert SpotifyClient.for_connection(conn, token_store=token_store).me()["account_id"]
    assert len(spotify.token_calls("refresh_token")) == 1


def test_user_library_endpoints_use_the_2026_paths(spotify, user, make_connection, token_store):
    conn = make_connection(user)
    page = {
        "href": f"{API}x",
        "items": [],
        "limit": 50,
        "next": None,
        "offset": 0,
        "previous": None,
        "total": 0,
    }
    spotify.api("GET", "/me/playlists", body=page)
    spotify.api(
        "GET",
        "/playlists/{playlist_id}/items",
        path="/playlists/37i9dQZF1DXcBWIGoYBM5M/items",
        body=page,
    )
    spotify.api(
        "GET",
        "/me/player/recently-played",
        body={
            "href": f"{API}me/player/recently-played",
            "items": [],
            "limit": 50,
            # The spec says a string (its prose says null when there is none): follow the spec.
            "next": f"{API}me/player/recently-played?before=1690000000000",
            "cursors": {"after": "1700000000000", "before": "1690000000000"},
        },
    )
    user_client = SpotifyClient.for_connection(conn, token_store=token_store)
    assert user_client.current_user_playlists(limit=500)["items"] == []
    assert user_client.playlist_items(playlist_id="37i9dQZF1DXcBWIGoYBM5M")["total"] == 0
    assert user_client.recently_played(after=1690000000000)["items"] == []
    urls = [c.request.url for c in spotify.calls_to(API)]
    assert "limit=50" in urls[0]
    assert urls[1].startswith(f"{API}playlists/37i9dQZF1DXcBWIGoYBM5M/items")
    assert "after=1690000000000" in urls[2]
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        user_client.recently_played(after=1, before=2)
