"""Who may call /api/spotify/me/...: every endpoint, every refusal, and never another's data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from spotify_integration.models import ConnectionStatus, SpotifyConnection
from sync.models import SyncJob
from tests.library.web.conftest import Library, export_file
from tests.spotify_integration.factories import UserFactory
from tests.sync.factories import SyncJobFactory

CONNECT = "/api/spotify/connect/"
PLAYLIST_SCOPES = ["playlist-read-collaborative", "playlist-read-private"]
PLAYS_SCOPES = ["user-read-recently-played"]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[Library], str]  # built from the library whose ids it names
    scopes: list[str]  # what it needs
    body: Callable[[Library], dict[str, Any]] | None = None


ENDPOINTS = [
    Endpoint("playlists", "get", lambda lib: "/api/spotify/me/playlists/", PLAYLIST_SCOPES),
    Endpoint(
        "playlist",
        "get",
        lambda lib: f"/api/spotify/me/playlists/{lib.playlists[0].spotify_id}/",
        PLAYLIST_SCOPES,
    ),
    Endpoint("plays", "get", lambda lib: "/api/spotify/me/recently-played/", PLAYS_SCOPES),
    Endpoint("gaps", "get", lambda lib: "/api/spotify/me/gaps/", PLAYS_SCOPES),
    Endpoint("runs", "get", lambda lib: "/api/spotify/me/sync/", []),
    Endpoint(
        "sync",
        "post",
        lambda lib: "/api/spotify/me/sync/",
        [*PLAYLIST_SCOPES, *PLAYS_SCOPES],
        lambda lib: {"what": "all"},
    ),
    Endpoint(
        "history",
        "post",
        lambda lib: "/api/spotify/me/history/",
        PLAYS_SCOPES,
        lambda lib: {"files": [export_file([("2026-11-20T10:00:00Z", lib.plays[0].track_id)])]},
    ),
]
IDS = [e.name for e in ENDPOINTS]


def call(client, endpoint: Endpoint, library: Library):
    path = endpoint.path(library)
    if endpoint.method == "get":
        return client.get(path)
    body = endpoint.body(library) if endpoint.body else {}
    return client.post(path, body, format="multipart" if "files" in body else "json")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_anonymous_callers_are_refused(api_client, alice, endpoint):
    response = call(api_client, endpoint, alice)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_not_connected(api_client, alice, endpoint):
    api_client.force_authenticate(UserFactory(username="nobody"))
    response = call(api_client, endpoint, alice)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "spotify_not_connected"
    assert error["detail"]["reconnect_url"] == CONNECT


def _needs_reauth(conn: SpotifyConnection) -> None:
    SpotifyConnection.objects.filter(pk=conn.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH, last_error="Spotify refused the refresh token."
    )


def _expired(conn: SpotifyConnection) -> None:
    SpotifyConnection.objects.filter(pk=conn.pk).update(
        authorized_at=timezone.now() - timedelta(days=190)
    )


@pytest.mark.parametrize("state", ["needs_reauth", "expired"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_a_connection_to_make_again(api_client, alice, endpoint, state):
    (_needs_reauth if state == "needs_reauth" else _expired)(alice.connection)
    api_client.force_authenticate(alice.user)
    response = call(api_client, endpoint, alice)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "spotify_reauth_required"
    assert error["detail"]["state"] == state and error["detail"]["reason"]
    assert error["detail"]["reconnect_url"] == CONNECT
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.scopes], ids=IDS[:4] + IDS[5:])
def test_a_missing_scope_is_named(api_client, alice, endpoint):
    SpotifyConnection.objects.filter(pk=alice.connection.pk).update(
        granted_scopes=["user-read-private"]
    )
    api_client.force_authenticate(alice.user)
    response = call(api_client, endpoint, alice)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "spotify_scope_missing"
    assert error["detail"]["missing_scopes"] == sorted(endpoint.scopes)
    assert error["detail"]["reconnect_url"] == CONNECT


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_a_user_never_reads_or_triggers_anything_of_another(api_client, alice, bob, endpoint):
    # Given Alice's library and a job of hers, and Bob signed in with his own library,
    hers = SyncJobFactory(kind="user_plays_sync", target_user=alice.user)
    jobs_before = set(SyncJob.objects.values_list("pk", flat=True))
    api_client.force_authenticate(bob.user)
    # when Bob calls the endpoint with Alice's ids where it takes one,
    response = call(api_client, endpoint, alice)
    # then he gets nothing of hers (the playlist id is not his: 404),
    text = json.dumps(response.json())
    assert "alice" not in text.lower() and "A Road Trip" not in text and "A Song" not in text
    assert alice.plays[0].track_id not in text and f'"id": {alice.gaps[0].pk},' not in text
    assert f'"id": {hers.pk},' not in text
    if endpoint.name == "playlist":
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 202), response.content
    # and whatever it started is his.
    new_jobs = SyncJob.objects.exclude(pk__in=jobs_before)
    assert {job.target_user_id for job in new_jobs} <= {bob.user.pk}
    if endpoint.method == "post":
        assert new_jobs.exists()


def test_bob_sees_his_own_playlist(api_client, bob):
    api_client.force_authenticate(bob.user)
    url = f"/api/spotify/me/playlists/{bob.playlists[0].spotify_id}/"
    assert api_client.get(url).json()["name"] == "B Road Trip"
