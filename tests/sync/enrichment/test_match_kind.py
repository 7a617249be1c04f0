"""``spotify_match`` as a job: the selection, manual decisions untouched, calls counted."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from bench.fake_catalog import track_object
from catalog.models import MatchStatus, Song, SongMatch
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.services.jobs import job_create
from sync.services.runner import job_run
from tests.catalog.factories import AlbumFactory, SongFactory

pytestmark = pytest.mark.django_db

HALO = track_object(
    name="Halo", artists=["Beyoncé"], album="I Am... Sasha Fierce", duration_ms=261_640,
    isrc="USSM10804556", release_date="2008-11-14",
)  # fmt: skip
CRAZY = track_object(
    name="Crazy in Love", artists=["Beyoncé", "JAY-Z"], album="Dangerously in Love",
    duration_ms=236_133, isrc="USSM10301360", release_date="2003-06-23",
)  # fmt: skip


def run(**params: Any) -> SyncJob:
    job = job_create(
        kind="spotify_match", params=params, trigger=JobTrigger.COMMAND, enqueue=False
    ).job
    job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    return job


def song(title: str, artists: list[str], album: str, duration_ms: int, **kw: Any) -> Song:
    made: Song = SongFactory(
        title=title, artists=artists, duration_ms=duration_ms,
        album=AlbumFactory(title=album, main_artist_name=artists[0]), **kw,
    )  # fmt: skip
    return made


def test_match_job_matches_new_songs_counts_calls_and_leaves_manual_decisions(spotify_catalog):
    asked = spotify_catalog(HALO, CRAZY)
    halo = song("Halo", ["Beyoncé"], "I Am... Sasha Fierce", 261_000, isrc="USSM10804556")
    crazy = song("Crazy in Love", ["Beyoncé", "JAY-Z"], "Dangerously in Love", 236_000)
    rejected = song("Halo", ["Beyoncé"], "Live", 290_000)
    SongMatch.objects.create(
        song=rejected, status=MatchStatus.NO_MATCH, manual=True, decided_at=timezone.now()
    )
    Song.objects.filter(pk=rejected.pk).update(match_status=MatchStatus.NO_MATCH)

    job = run()

    assert job.status == JobStatus.SUCCEEDED
    assert job.result["selected"] == 2 and job.result["matched"] == 2
    assert job.spotify_calls == len(asked) == job.result["spotify_calls"] >= 2
    assert (job.progress_done, job.progress_total) == (2, 2)
    halo.refresh_from_db()
    crazy.refresh_from_db()
    assert (halo.spotify_id, crazy.spotify_id) == (HALO["id"], CRAZY["id"])
    rejected.refresh_from_db()
    assert rejected.spotify_id is None and rejected.match_status == MatchStatus.NO_MATCH
    assert SongMatch.objects.get(song=rejected).manual

    again = run()  # nothing left without a Spotify id but the manual one
    assert (again.result["selected"], again.spotify_calls) == (0, 0)


def test_match_job_of_given_ids_and_never_tried(spotify_catalog):
    spotify_catalog(HALO)
    halo = song("Halo", ["Beyoncé"], "I Am... Sasha Fierce", 261_000)
    other = song("Unknown Song", ["Nobody"], "Nothing", 100_000)

    job = run(song_ids=str(halo.pk))
    assert job.result["selected"] == 1 and job.result["matched"] == 1

    never = run(mode="never_tried")
    assert never.result["selected"] == 1 and never.result["no_match"] == 1
    assert Song.objects.get(pk=other.pk).match_status == MatchStatus.NO_MATCH
    assert run(mode="never_tried").spotify_calls == 0
    assert run(mode="no_match", older_than_days=1).result["selected"] == 0  # just tried
