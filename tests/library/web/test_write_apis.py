"""POST /api/spotify/me/sync/ and /history/, GET /sync/: through the library's services."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.throttling import ScopedRateThrottle

from library.models import Play
from spotify_integration.ratelimit import spotify_pause
from sync.models import JobStatus, SyncJob
from tests.core.test_openapi import conforms
from tests.library.web.conftest import Library, export_file
from tests.sync.factories import SyncJobFactory

SYNC = "/api/spotify/me/sync/"
HISTORY = "/api/spotify/me/history/"


@pytest.fixture
def schema(api_client) -> dict[str, Any]:
    return api_client.get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def as_alice(api_client, alice: Library):
    api_client.force_authenticate(alice.user)
    return api_client


def test_sync_all_starts_both_jobs_and_a_repeat_returns_them(as_alice, alice, schema):
    first = as_alice.post(SYNC, {"what": "all"}, format="json")
    conforms(schema, SYNC, "post", first)
    assert first.status_code == 202
    jobs = first.json()["jobs"]
    assert sorted((j["what"], j["status"], j["already_running"]) for j in jobs) == [
        ("playlists", "pending", False),
        ("plays", "pending", False),
    ]
    assert {j.target_user_id for j in SyncJob.objects.all()} == {alice.user.pk}

    again = as_alice.post(SYNC, {"what": "plays"}, format="json")
    assert again.status_code == 202
    [job] = again.json()["jobs"]
    assert job["already_running"] is True
    assert job["id"] in {j["id"] for j in jobs}
    assert SyncJob.objects.count() == 2


@pytest.mark.parametrize("body", [{"what": "everything"}, {}, {"what": ""}])
def test_sync_refuses_a_bad_what(as_alice, schema, body):
    response = as_alice.post(SYNC, body, format="json")
    conforms(schema, SYNC, "post", response)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("what:")
    assert not SyncJob.objects.exists()


def test_sync_checks_the_scopes_of_what_it_syncs(api_client, make_library, schema):
    library = make_library("carol", granted_scopes=["user-read-private", "playlist-read-private"])
    api_client.force_authenticate(library.user)
    response = api_client.post(SYNC, {"what": "all"}, format="json")
    conforms(schema, SYNC, "post", response)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "spotify_scope_missing"
    assert error["detail"]["missing_scopes"] == [
        "playlist-read-collaborative",
        "user-read-recently-played",
    ]
    assert error["detail"]["reconnect_url"] == "/api/spotify/connect/"
    assert not SyncJob.objects.exists()


def test_sync_during_a_spotify_pause_says_so(as_alice, schema):
    spotify_pause(retry_after=120)
    response = as_alice.post(SYNC, {"what": "plays"}, format="json")
    conforms(schema, SYNC, "post", response)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "library_sync_unavailable"
    assert error["detail"]["reason"] == "paused" and error["detail"]["retry_after"] > 0


def test_sync_is_throttled_per_user(as_alice, api_client, bob, monkeypatch, schema):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "spotify_me_sync", "2/hour")
    codes = [as_alice.post(SYNC, {"what": "plays"}, format="json").status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    limited = as_alice.post(SYNC, {"what": "plays"}, format="json")
    conforms(schema, SYNC, "post", limited)
    assert int(limited["Retry-After"]) > 0
    assert as_alice.get(SYNC).status_code == 200  # reading the runs is not limited
    api_client.force_authenticate(bob.user)  # another user has their own allowance
    assert api_client.post(SYNC, {"what": "plays"}, format="json").status_code == 202


def test_last_runs_are_mine_newest_first(as_alice, alice, bob, schema):
    older = SyncJobFactory(
        kind="user_plays_sync",
        target_user=alice.user,
        status=JobStatus.FAILED,
        error_code="spotify_unavailable",
        error_message="Spotify is unavailable right now.",
    )
    newer = SyncJobFactory(
        kind="user_playlists_sync", target_user=alice.user, status=JobStatus.SUCCEEDED
    )
    SyncJobFactory(kind="user_plays_sync", target_user=bob.user, status=JobStatus.SUCCEEDED)
    SyncJobFactory(kind="catalog_import", target_user=alice.user, status=JobStatus.SUCCEEDED)
    response = as_alice.get(SYNC)
    conforms(schema, SYNC, "get", response)
    runs = response.json()["results"]
    assert [r["id"] for r in runs] == [newer.pk, older.pk]
    assert runs[1]["error"] == {
        "code": "spotify_unavailable",
        "message": "Spotify is unavailable right now.",
    }
    assert runs[0]["what"] == "playlists"


def test_history_upload_starts_the_import(as_alice, alice, schema):
    upload = export_file([("2026-11-20T10:00:00Z", alice.plays[0].track_id)])
    response = as_alice.post(HISTORY, {"files": [upload]}, format="multipart")
    conforms(schema, HISTORY, "post", response)
    assert response.status_code == 202
    job = SyncJob.objects.get(pk=response.json()["id"])
    assert (job.kind, job.target_user_id) == ("user_history_import", alice.user.pk)


def test_history_upload_names_the_bad_file(as_alice, schema):
    bad = export_file([("not a time", "x")], name="Streaming_History_Audio_2019.json")
    response = as_alice.post(HISTORY, {"files": [bad]}, format="multipart")
    conforms(schema, HISTORY, "post", response)
    assert response.status_code == 400
    assert "Streaming_History_Audio_2019.json" in response.json()["error"]["message"]
    assert not SyncJob.objects.exists() and Play.objects.filter(source="export").count() == 0


def test_history_upload_without_files_names_the_field(as_alice, schema):
    response = as_alice.post(HISTORY, {}, format="multipart")
    conforms(schema, HISTORY, "post", response)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("files:")


def test_history_upload_over_the_cap_is_refused_before_reading(as_alice, alice, settings, schema):
    settings.LIBRARY_HISTORY_MAX_UPLOAD_BYTES = 200
    upload = export_file([("2026-11-20T10:00:00Z", alice.plays[0].track_id)] * 5)
    response = as_alice.post(HISTORY, {"files": [upload]}, format="multipart")
    conforms(schema, HISTORY, "post", response)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert not SyncJob.objects.exists()


def test_history_upload_takes_multipart_only(as_alice):
    response = as_alice.post(HISTORY, {"files": []}, format="json")
    assert response.status_code == 415
