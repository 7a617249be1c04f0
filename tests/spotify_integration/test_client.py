"""The client: app token, retries, 429 handling, the app's mode, counting, user-token refresh."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from django.db import connection as db_connection
from django.test import override_settings

from spotify_integration import client as spotify_client
from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.exceptions import (
    SpotifyAppUnauthorized,
    SpotifyForbidden,
    SpotifyForbiddenByAppMode,
    SpotifyForbiddenByScope,
    SpotifyNotConfigured,
    SpotifyNotFound,
    SpotifyRateLimited,
    SpotifyReauthRequired,
    SpotifyUnavailable,
)
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.ratelimit import spotify_pause_clear, spotify_paused_for
from spotify_integration.vault import token_decrypt
from tests.spotify_integration.conftest import (
    API,
    TOKEN_URL,
    error_body,
    me_body,
    token_body,
    track_body,
)

TRACK = "4u7EnebtmKWzUH433cf5Qv"
OTHER = "7tFiyTwD0nx5a1eklYtX2J"


# --- App token -----------------------------------------------------------------------------


def test_app_token_is_fetched_once_and_shared_through_the_cache(spotify):
    spotify.token(token_body(refresh=False, scope=None))
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))

    SpotifyClient.for_app().track(TRACK)
    # A second client (another process would be the same: the token is in Redis) reuses it.
    SpotifyClient.for_app().track(TRACK)

    assert len(spotify.token_calls("client_credentials")) == 1
    api_calls = spotify.calls_to(API)
    assert (
        api_calls[0].request.headers["Authorization"]
        == api_calls[1].request.headers["Authorization"]
    )
    # Confidential client: the app authenticates with HTTP Basic at the token endpoint.
    assert spotify.calls_to(TOKEN_URL)[0].request.headers["Authorization"].startswith("Basic ")


def test_app_token_is_renewed_before_it_expires(spotify):
    # Given a shared app token with under 60 s left
    spotify.token(token_body(refresh=False, scope=None, expires_in=30))
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
    SpotifyClient.for_app().track(TRACK)
    # When the next call happens, then a new token is fetched first
    SpotifyClient.for_app().track(TRACK)
    assert len(spotify.token_calls("client_credentials")) == 2


def test_app_credentials_refused(spotify):
    spotify.token({"error": "invalid_client", "error_description": "Invalid client"}, status=400)
    with pytest.raises(SpotifyAppUnauthorized):
        SpotifyClient.for_app().track(TRACK)


@override_settings(SPOTIFY_CLIENT_ID="", SPOTIFY_CLIENT_SECRET="")
def test_not_configured_says_so():
    with pytest.raises(SpotifyNotConfigured) as exc:
        SpotifyClient.for_app()
    assert "SPOTIFY_CLIENT_ID" in exc.value.message


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


# --- Failures become our errors ------------------------------------------------------------


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
    assert len(spotify.calls_to(API)) == spotify_client.MAX_ATTEMPTS


def test_network_errors_are_retried_then_unavailable(spotify):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body=requests.ConnectionError("down"))
    with count_spotify_calls() as calls, pytest.raises(SpotifyUnavailable):
        SpotifyClient.for_app().track(TRACK)
    assert calls.by_status().get(None) == spotify_client.MAX_ATTEMPTS


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


# --- 429: never slept on, pauses everyone --------------------------------------------------


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
        spotify_client.spotify_pause(retry_after=int(retry_after))
    assert spotify_paused_for() > 3500
    spotify_pause_clear()
    assert spotify_paused_for() == 0


# --- The app's mode ------------------------------------------------------------------------


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
    spotify_client._disabled_here.clear()
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


# --- Counting ------------------------------------------------------------------------------


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


# --- User tokens ---------------------------------------------------------------------------


def _expire(connection: SpotifyConnection, seconds_left: int = 10) -> None:
    SpotifyConnection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=datetime.now(tz=UTC) + timedelta(seconds=seconds_left)
    )


def test_user_calls_use_the_connection_token(spotify, user, make_connection):
    conn = make_connection(user)
    spotify.api("GET", "/me", body=me_body())
    SpotifyClient.for_connection(conn).me()
    access = token_decrypt(ciphertext=conn.access_token_encrypted)
    assert spotify.calls_to(API)[0].request.headers["Authorization"] == f"Bearer {access}"
    assert not spotify.token_calls()


def test_refresh_under_60_s_without_new_refresh_token_keeps_the_old(spotify, user, make_connection):
    conn = make_connection(user)
    old_refresh = token_decrypt(ciphertext=conn.refresh_token_encrypted)
    _expire(conn, 59)
    new = token_body(refresh=False)
    spotify.token(new)
    spotify.api("GET", "/me", body=me_body())

    SpotifyClient.for_connection(conn).me()

    conn.refresh_from_db()
    assert spotify.token_calls("refresh_token")[0]["refresh_token"] == [old_refresh]
    assert token_decrypt(ciphertext=conn.access_token_encrypted) == new["access_token"]
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == old_refresh
    assert conn.access_token_expires_at > datetime.now(tz=UTC) + timedelta(minutes=59)
    assert conn.last_refreshed_at is not None


def test_refresh_that_rotates_the_refresh_token_stores_the_new_one(spotify, user, make_connection):
    conn = make_connection(user)
    _expire(conn)
    new = token_body(refresh=True, scope="user-read-private")
    spotify.token(new)
    spotify.api("GET", "/me", body=me_body())
    SpotifyClient.for_connection(conn).me()
    conn.refresh_from_db()
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == new["refresh_token"]
    assert conn.granted_scopes == ["user-read-private"]


def test_invalid_grant_needs_reauth_and_is_not_retried(spotify, user, make_connection):
    conn = make_connection(user)
    authorized_at = conn.authorized_at
    _expire(conn)
    spotify.token(
        {"error": "invalid_grant", "error_description": "Refresh token revoked"}, status=400
    )

    with pytest.raises(SpotifyReauthRequired) as exc:
        SpotifyClient.for_connection(conn).me()

    assert exc.value.code == "spotify_reconnect_required"
    assert exc.value.detail["reconnect_url"] == "/api/spotify/connect/"
    assert len(spotify.token_calls()) == 1  # no retry
    assert not spotify.calls_to(API)
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NEEDS_REAUTH
    assert conn.access_token_encrypted == ""
    assert "Refresh token revoked" in conn.last_error
    assert conn.authorized_at == authorized_at
    # The next caller is told at once, without asking Spotify again.
    with pytest.raises(SpotifyReauthRequired):
        SpotifyClient.for_connection(conn).me()
    assert len(spotify.token_calls()) == 1


def test_a_401_refreshes_once_then_retries(spotify, user, make_connection):
    conn = make_connection(user)
    spotify.api("GET", "/me", status=401, body=error_body(401, "The access token expired"))
    spotify.api("GET", "/me", body=me_body())
    spotify.token()
    assert SpotifyClient.for_connection(conn).me()["account_id"] == "aB3dE5fG7h"
    assert len(spotify.token_calls("refresh_token")) == 1
    auths = [c.request.headers["Authorization"] for c in spotify.calls_to(API)]
    assert auths[0] != auths[1]


def test_a_second_401_after_refresh_needs_reauth(spotify, user, make_connection):
    conn = make_connection(user)
    spotify.api("GET", "/me", status=401, body=error_body(401, "Invalid access token"))
    spotify.token()
    with pytest.raises(SpotifyReauthRequired):
        SpotifyClient.for_connection(conn).me()
    assert len(spotify.token_calls("refresh_token")) == 1
    assert len(spotify.calls_to(API)) == 2
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NEEDS_REAUTH


@pytest.mark.django_db(transaction=True)
def test_20_threads_needing_a_refresh_cause_one_token_call(spotify, user, make_connection):
    # Given a connection whose access token is about to expire
    conn = make_connection(user)
    _expire(conn)
    new = token_body(refresh=False)

    def slow_token(request):
        time.sleep(0.3)  # long enough that every thread arrives while the refresh runs
        return 200, {}, json.dumps(new)

    spotify.token_callback(slow_token)
    spotify.api("GET", "/me", body=me_body())
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []
    used: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            SpotifyClient.for_connection(conn).me()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db_connection.close()

    # When 20 threads call at once
    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # Then exactly one refresh happened and every call used its token
    assert not errors, errors
    assert len(spotify.token_calls("refresh_token")) == 1
    used = [c.request.headers["Authorization"] for c in spotify.calls_to(API)]
    assert len(used) == 20 and set(used) == {f"Bearer {new['access_token']}"}


def test_user_library_endpoints_use_the_2026_paths(spotify, user, make_connection):
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
    user_client = SpotifyClient.for_connection(conn)
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
