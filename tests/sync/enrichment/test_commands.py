"""``spotify_match``, ``spotify_refresh``, ``spotify_audio_features`` and the beat entries."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from bench.fake_catalog import track_object
from catalog.models import MatchStatus, Song
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.tasks import sync_enrichment_job_start_task
from tests.catalog.enrichment.wire import serve_tracks, stale_songs
from tests.catalog.factories import SongFactory
from tests.spotify_integration.fakes import API

pytestmark = pytest.mark.django_db
DEVELOPMENT = override_settings(SPOTIFY_APP_MODE="development", SPOTIFY_RATE_LIMIT_CALLS=100_000)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@DEVELOPMENT
def test_spotify_refresh_runs_a_job_here_and_prints_a_summary(spotify):
    songs = stale_songs(4)
    serve_tracks(spotify, missing={songs[0].spotify_id or ""})

    out, _ = run("spotify_refresh", "--no-progress")

    job = SyncJob.objects.get(kind="spotify_refresh")
    assert (job.status, job.trigger, job.spotify_calls) == (JobStatus.SUCCEEDED, "command", 4)
    assert out.startswith("refreshed 3 (3 changed), gone 1, skipped 0 — 4 songs, 4 Spotify calls")
    assert f"(job #{job.pk}, succeeded)" in out
    out, _ = run("spotify_refresh", "--no-progress", "--include-gone", "--older-than", "0")
    # The gone one is asked again (still a 404): 4 calls, nothing else changed.
    assert out.startswith("refreshed 3 (0 changed), gone 1, skipped 0 — 4 songs, 4 Spotify calls")
    assert len(spotify.calls_to(API)) == 8


@DEVELOPMENT
def test_spotify_refresh_of_given_ids(spotify):
    songs = stale_songs(3)
    serve_tracks(spotify)
    out, _ = run("spotify_refresh", "--no-progress", "--ids", f"{songs[1].pk}")
    assert "refreshed 1 " in out and "1 Spotify call " in out


@DEVELOPMENT
def test_spotify_audio_features_in_development_mode_says_why_and_fails(spotify):
    stale_songs(2)
    with pytest.raises(CommandError, match="not available to development-mode apps"):
        run("spotify_audio_features", "--no-progress")
    assert not spotify.rsps.calls


def test_spotify_match_runs_a_job_and_prints_the_decisions(spotify_catalog):
    halo = track_object(
        name="Halo", artists=["Beyoncé"], album="I Am... Sasha Fierce", duration_ms=261_640,
        isrc="USSM10804556", release_date="2008-11-14",
    )  # fmt: skip
    asked = spotify_catalog(halo)
    SongFactory(title="Halo", artists=["Beyoncé"], duration_ms=261_000, isrc="USSM10804556")
    SongFactory(title="Nothing Like It", artists=["Nobody"], duration_ms=100_000)

    out, _ = run("spotify_match", "--no-progress", "--mode", "never_tried")

    assert out.startswith("matched 1, needs review 0, no match 1, left to a person's decision 0")
    assert f"{len(asked)} Spotify calls" in out
    assert Song.objects.filter(match_status=MatchStatus.MATCHED).count() == 1


def test_bad_options_are_refused_naming_them(db):
    with pytest.raises(CommandError, match=r"params\.artist: no artist"):
        run("spotify_refresh", "--artist", "Nobody Known")
    with pytest.raises(CommandError, match=r"params\.song_ids"):
        run("spotify_match", "--ids", "x")


def test_enqueue_prints_the_job_id(django_capture_on_commit_callbacks, settings):
    settings.SPOTIFY_CLIENT_ID = ""  # the eager run then fails at once, without Spotify
    with django_capture_on_commit_callbacks(execute=True):
        out, err = run("spotify_refresh", "--enqueue")
    job = SyncJob.objects.get(kind="spotify_refresh")
    assert out.strip() == str(job.pk) and "ran in-process" in err


def test_setup_periodic_tasks_schedules_hourly_match_and_nightly_refresh():
    out, _ = run("setup_periodic_tasks")
    assert "created: encore: match new songs to Spotify (every 3600 s)" in out
    assert "created: encore: refresh stale Spotify metadata (at 30 3 * * * UTC)" in out
    match = PeriodicTask.objects.get(name="encore: match new songs to Spotify")
    assert match.task == "sync.start_enrichment_job" and match.interval is not None
    assert match.interval.every == 3600 and match.kwargs == '{"kind": "spotify_match"}'
    refresh = PeriodicTask.objects.get(name="encore: refresh stale Spotify metadata")
    assert refresh.crontab is not None and refresh.interval is None
    assert (refresh.crontab.minute, refresh.crontab.hour) == ("30", "3")
    run("setup_periodic_tasks")
    assert PeriodicTask.objects.filter(task="sync.start_enrichment_job").count() == 2


def test_the_beat_task_starts_the_scheduled_selection(settings):
    settings.SPOTIFY_MATCH_HOURLY_LIMIT = 250
    job_id = sync_enrichment_job_start_task("spotify_match")
    job = SyncJob.objects.get(pk=job_id)
    assert job.trigger == JobTrigger.SCHEDULE
    assert (job.params["mode"], job.params["limit"]) == ("never_tried", 250)
    assert sync_enrichment_job_start_task("spotify_match") == job_id  # already active
    refresh = SyncJob.objects.get(pk=sync_enrichment_job_start_task("spotify_refresh"))
    assert refresh.params["limit"] == settings.SPOTIFY_REFRESH_NIGHTLY_LIMIT


def test_the_beat_task_starts_nothing_without_spotify(settings):
    settings.SPOTIFY_CLIENT_ID = ""
    assert sync_enrichment_job_start_task("spotify_refresh") is None
    assert not SyncJob.objects.exists()
