"""The enrichment kinds (``sync.kinds_enrichment``) run as jobs, Spotify mocked at the wire."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from catalog.models import MatchStatus, Song
from spotify_integration.ratelimit import spotify_pause_clear
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.services.jobs import job_create
from sync.services.runner import job_run
from tests.catalog.enrichment.wire import full_track, serve_features, serve_tracks, stale_songs
from tests.catalog.factories import SongFactory
from tests.spotify_integration.fakes import API, error_body

pytestmark = pytest.mark.django_db
EXTENDED = override_settings(SPOTIFY_APP_MODE="extended", SPOTIFY_RATE_LIMIT_CALLS=100_000)
DEVELOPMENT = override_settings(SPOTIFY_APP_MODE="development", SPOTIFY_RATE_LIMIT_CALLS=100_000)


def run(kind: str, **params: Any) -> SyncJob:
    job = job_create(kind=kind, params=params, trigger=JobTrigger.COMMAND, enqueue=False).job
    job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    return job


@EXTENDED
def test_refresh_job_counts_its_calls_and_a_second_run_costs_none(spotify):
    stale_songs(120)
    serve_tracks(spotify)

    first = run("spotify_refresh")
    second = run("spotify_refresh")

    assert first.status == JobStatus.SUCCEEDED
    assert first.spotify_calls == 3 == len(spotify.calls_to(API))
    assert (first.progress_done, first.progress_total, first.progress_failed) == (120, 120, 0)
    assert first.result["refreshed"] == 120 and first.result["selected"] == 120
    assert first.result["calls_by_endpoint"] == {"GET /tracks": 3}
    assert second.status == JobStatus.SUCCEEDED
    assert (second.spotify_calls, second.result["selected"]) == (0, 0)
    assert len(spotify.calls_to(API)) == 3


@DEVELOPMENT
def test_refresh_job_in_development_mode_one_call_a_track_404_gone(spotify):
    songs = stale_songs(25)
    serve_tracks(spotify, missing={songs[3].spotify_id or ""})

    job = run("spotify_refresh", limit=20)

    assert job.status == JobStatus.SUCCEEDED
    assert job.spotify_calls == 20 == len(spotify.calls_to(API))
    assert (job.progress_done, job.progress_total, job.progress_failed) == (20, 20, 1)
    assert job.result["gone"] == 1
    assert Song.objects.get(pk=songs[3].pk).match_status == MatchStatus.GONE
    assert Song.objects.filter(spotify_synced_at__isnull=True).count() == 5  # past the limit


@DEVELOPMENT
def test_a_429_mid_run_keeps_the_finished_batches_counts_every_call_and_retries(spotify):
    stale_songs(15)
    body = full_track("AAAAAAAAAAAAAAAAAAAAAA")  # validated; the calls below differ in the id
    pause = error_body(429, "Too many requests")
    answered = []

    def single(request: Any) -> tuple[int, dict[str, str], str]:
        answered.append(request.url)
        if len(answered) == 12:
            return 429, {"Retry-After": "1"}, json.dumps(pause)
        return 200, {}, json.dumps(body)

    spotify.token()
    spotify.rsps.add_callback(responses.GET, re.compile(re.escape(API) + r"tracks/\w+$"), single)

    job = run("spotify_refresh")

    assert job.status == JobStatus.PENDING and job.error_code == "spotify_rate_limited"
    assert job.spotify_calls == 12  # the 429 was a request too
    assert Song.objects.filter(spotify_synced_at__isnull=False).count() == 10  # first batch
    # The pause ends (the job waited until next_attempt_at); the retry does the rest.
    spotify_pause_clear()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.spotify_calls == 17 == len(answered)  # 12, then the 5 left
    assert not Song.objects.filter(spotify_synced_at__isnull=True).exists()


@EXTENDED
def test_audio_features_job_in_extended_mode(spotify):
    stale_songs(150)
    serve_features(spotify)
    job = run("spotify_audio_features")
    assert job.status == JobStatus.SUCCEEDED
    assert job.spotify_calls == 2 == len(spotify.calls_to(API))
    assert job.result["stored"] == 150
    assert run("spotify_audio_features").spotify_calls == 0


@override_settings(SPOTIFY_APP_MODE="development")
def test_audio_features_job_in_development_mode_ends_at_once_saying_why(spotify):
    stale_songs(3)
    job = run("spotify_audio_features")
    assert job.status == JobStatus.FAILED
    assert job.error_code == "spotify_forbidden_by_app_mode"
    assert "not available to development-mode apps" in job.error_message
    assert job.spotify_calls == 0 and not spotify.rsps.calls
    assert job.attempts == 1  # not retried: it would be refused again


@EXTENDED
def test_audio_features_job_refused_with_403_says_why(spotify):
    stale_songs(3)
    spotify.token()
    spotify.api("GET", "/audio-features", status=403, body=error_body(403, "Forbidden"))
    job = run("spotify_audio_features")
    assert job.status == JobStatus.FAILED and "refused audio features" in job.error_message
    assert job.spotify_calls == 1


def test_staff_api_starts_enrichment_jobs_and_names_bad_params(api_client, staff_user, spotify):
    api_client.force_authenticate(staff_user)
    song = SongFactory(artists=["Queen"])
    response = api_client.post(
        "/api/admin/sync-jobs/",
        {
            "kind": "spotify_refresh",
            "params": {"song_ids": f"{song.pk}, 99", "artist": "queen", "include_gone": "yes"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    job = SyncJob.objects.get(pk=response.json()["id"])
    assert job.params == {
        "song_ids": ",".join(str(i) for i in sorted([song.pk, 99])),
        "artist": "queen",
        "older_than_days": None,
        "include_gone": True,
        "limit": 0,
    }
    for params, field in [
        ({"artist": "Nobody At All"}, "artist"),
        ({"song_ids": "1,two"}, "song_ids"),
        ({"older_than_days": -1}, "older_than_days"),
    ]:
        bad = api_client.post(
            "/api/admin/sync-jobs/",
            {"kind": "spotify_audio_features" if field == "artist" else "spotify_refresh",
             "params": params},
            format="json",
        )  # fmt: skip
        assert bad.status_code == 400, params
        assert bad.json()["error"]["message"].startswith(f"params.{field}:")


def test_admin_start_page_renders_the_selection_forms_and_starts_a_job(client, staff_user):
    client.force_login(staff_user)
    start = reverse("admin:sync_syncjob_start")
    page = client.get(start).content.decode()
    for name in [
        "spotify_refresh-song_ids",
        "spotify_refresh-artist",
        "spotify_refresh-older_than_days",
        "spotify_refresh-include_gone",
        "spotify_audio_features-limit",
    ]:
        assert f'name="{name}"' in page, name
    with override_settings(SPOTIFY_APP_MODE="development"):
        response = client.post(
            start, {"kind": "spotify_audio_features", "spotify_audio_features-limit": "5"}
        )
    job = SyncJob.objects.get(kind="spotify_audio_features")
    assert response["Location"] == reverse("admin:sync_syncjob_change", args=[job.pk])
    assert job.params == {"song_ids": "", "artist": "", "limit": 5}


@EXTENDED
def test_cancel_stops_at_a_batch_boundary_keeping_the_batches_and_their_calls(spotify):
    from sync.services.jobs import job_cancel

    stale_songs(200)
    serve_tracks(spotify)
    job = job_create(kind="spotify_refresh", params={}, trigger=JobTrigger.ADMIN, enqueue=False).job

    def operator_cancels_after_first_batch(snapshot: Any) -> None:
        if snapshot.done == 50:
            job_cancel(job=SyncJob.objects.get(pk=job.pk))

    job_run(job_id=job.pk, listener=operator_cancels_after_first_batch)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    # The cancel arrived after batch 1; batch 2 ran and the job stopped at its boundary.
    assert job.result["stopped"] is True and job.result["songs"] == 100
    assert job.spotify_calls == 2 == len(spotify.calls_to(API))
    assert Song.objects.filter(spotify_synced_at__isnull=False).count() == 100
