"""The accounts service: the shared app token, user-token refresh, invalid_grant."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.test import override_settings

from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import (
    SpotifyAppUnauthorized,
    SpotifyNotConfigured,
    SpotifyReauthRequired,
)
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.vault import token_decrypt
from tests.spotify_integration.fakes import API, TOKEN_URL, me_body, token_body, track_body

TRACK = "4u7EnebtmKWzUH433cf5Qv"


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


def _expire(connection: SpotifyConnection, seconds_left: int = 10) -> None:
    SpotifyConnection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=datetime.now(tz=UTC) + timedelta(seconds=seconds_left)
    )


def test_user_calls_use_the_connection_token(spotify, user, make_connection, token_store):
    conn = make_connection(user)
    spotify.api("GET", "/me", body=me_body())
    SpotifyClient.for_connection(conn, token_store=token_store).me()
    access = token_decrypt(ciphertext=conn.access_token_encrypted)
    assert spotify.calls_to(API)[0].request.headers["Authorization"] == f"Bearer {access}"
    assert not spotify.token_calls()


def test_refresh_under_60_s_without_new_refresh_token_keeps_the_old(
    spotify, user, make_connection, token_store
):
    conn = make_connection(user)
    old_refresh = token_decrypt(ciphertext=conn.refresh_token_encrypted)
    _expire(conn, 59)
    new = token_body(refresh=False)
    spotify.token(new)
    spotify.api("GET", "/me", body=me_body())

    SpotifyClient.for_connection(conn, token_store=token_store).me()

    conn.refresh_from_db()
    assert spotify.token_calls("refresh_token")[0]["refresh_token"] == [old_refresh]
    assert token_decrypt(ciphertext=conn.access_token_encrypted) == new["access_token"]
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == old_refresh
    assert conn.access_token_expires_at > datetime.now(tz=UTC) + timedelta(minutes=59)
    assert conn.last_refreshed_at is not None


def test_refresh_that_rotates_the_refresh_token_stores_the_new_one(
    spotify, user, make_connection, token_store
):
    conn = make_connection(user)
    _expire(conn)
    new = token_body(refresh=True, scope="user-read-private")
    spotify.token(new)
    spotify.api("GET", "/me", body=me_body())
    SpotifyClient.for_connection(conn, token_store=token_store).me()
    conn.refresh_from_db()
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == new["refresh_token"]
    assert conn.granted_scopes == ["user-read-private"]


def test_invalid_grant_needs_reauth_and_is_not_retried(spotify, user, make_connection, token_store):
    conn = make_connection(user)
    authorized_at = conn.authorized_at
    _expire(conn)
    spotify.token(
        {"error": "invalid_grant", "error_description": "Refresh token revoked"}, status=400
    )

    with pytest.raises(SpotifyReauthRequired) as exc:
        SpotifyClient.for_connection(conn, token_store=token_store).me()

    assert exc.value.code == "spotify_reauth_required"
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
        SpotifyClient.for_connection(conn, token_store=token_store).me()
    assert len(spotify.token_calls()) == 1


@pytest.mark.django_db(transaction=True)
def test_20_threads_needing_a_refresh_cause_one_token_call(
    spotify, user, make_connection, token_store
):
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
            SpotifyClient.for_connection(conn, token_store=token_store).me()
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
