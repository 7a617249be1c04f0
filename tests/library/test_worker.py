"""The fan-out and the library jobs through a real Celery worker (Redis broker, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from bench.fake_library import make_track
from library.models import LibrarySyncState, Play
from library.services.requests import request_sync
from library.tasks import library_fan_out_task
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.services.jobs import job_create
from sync.services.reaper import jobs_reap_stale
from tests.library.conftest import other_connection
from tests.sync.conftest import wait_for
from tests.sync.helpers import left_running

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
        or not settings.REDIS_URL,
        reason="needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL)",
    ),
]

T0 = 1_764_482_400_000


def _finished(kind: str, count: int) -> bool:
    jobs = SyncJob.objects.filter(kind=kind)
    return jobs.count() == count and not jobs.filter(status__in=["pending", "running"]).exists()


def test_the_beat_fan_out_runs_each_connection_in_its_own_job(
    celery_worker, connection, account, wire
):
    # Two users (the fake answers both with the same library); the first plays poll Spotify
    # gets is refused with a 400, whichever user's job it is.
    for i in range(3):
        account.play(T0 + i * 200_000, make_track(i))
    account.add_playlist(1, items=2)
    broken = other_connection(spotify_user_id="other-sp")
    wire.fail("GET /me/player/recently-played", 400)

    library_fan_out_task.apply_async(queue=celery_worker.queue)
    wait_for(lambda: _finished("user_plays_sync", 2) and _finished("user_playlists_sync", 2))

    jobs = {(j.kind, j.target_user_id): j for j in SyncJob.objects.all()}
    states = {s.connection_id: s for s in LibrarySyncState.objects.all()}
    failed = [j for j in jobs.values() if j.status == JobStatus.FAILED]
    # Exactly one plays job met the 400; the other user's jobs all succeeded regardless.
    assert len(failed) == 1 and failed[0].kind == "user_plays_sync"
    loser = failed[0].target_user_id
    winner = connection.user_id if loser == broken.user_id else broken.user_id
    assert jobs[("user_plays_sync", winner)].status == JobStatus.SUCCEEDED
    assert jobs[("user_playlists_sync", winner)].status == JobStatus.SUCCEEDED
    loser_conn = connection.pk if loser == connection.user_id else broken.pk
    winner_conn = broken.pk if loser_conn == connection.pk else connection.pk
    assert states[loser_conn].plays_error and not states[winner_conn].plays_error
    assert states[winner_conn].plays_synced_at is not None
    assert Play.objects.filter(connection_id=winner_conn).count() == 3


def test_a_plays_job_whose_worker_was_killed_is_run_again_and_loses_nothing(
    celery_worker, connection, account, wire
):
    for i in range(4):
        account.play(T0 + i * 200_000, make_track(i))
    [first] = [r.job for r in request_sync(connection, "plays")]
    wait_for(lambda: _finished("user_plays_sync", 1))
    for i in range(4, 9):
        account.play(T0 + i * 200_000, make_track(i))
    # A scheduled poll's worker is killed mid-job (after its fetch, before its commit): the
    # job is left running with a stale heartbeat and nothing of it committed.
    killed = job_create(
        kind="user_plays_sync",
        params={},
        trigger=JobTrigger.SCHEDULE,
        target_user=connection.user,
        enqueue=False,
    ).job
    left_running(killed, beat_ago=timedelta(hours=1))

    report = jobs_reap_stale()  # the repeatable kind is queued again, to the real worker

    assert report.lost == [killed.pk] and len(report.requeued) == 1
    wait_for(lambda: SyncJob.objects.get(pk=report.requeued[0]).status == JobStatus.SUCCEEDED)
    assert Play.objects.filter(connection=connection).count() == 9
    assert Play.objects.values("played_at", "track_id").distinct().count() == 9
    assert first.pk != killed.pk
