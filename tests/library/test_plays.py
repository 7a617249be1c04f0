"""user_plays_sync: the stored cursor, idempotent inserts, gaps, crashes and pauses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from bench.fake_library import make_track
from core import metrics
from library.models import LibrarySyncState, Play, PlayGap, PlaySource
from library.services import plays as plays_service
from library.services.plays import plays_sync
from spotify_integration.client import SpotifyClient
from spotify_integration.lanes import Lane
from spotify_integration.ratelimit import spotify_pause_clear
from spotify_integration.services.connections import ConnectionTokenStore
from sync.models import AttemptOutcome, JobStatus, JobTrigger, SyncJob
from sync.services.jobs import job_create
from sync.services.runner import job_run

pytestmark = pytest.mark.django_db

T0 = 1_764_482_400_000  # 2025-11-30 06:00:00 UTC, in ms
MINUTE = 60_000


def _sync(connection):
    client = SpotifyClient.for_connection(
        connection, token_store=ConnectionTokenStore(), lane=Lane.LIBRARY
    )
    return plays_sync(connection=connection, client=client)


def _listen(account, start_ms, count, *, every=3 * MINUTE, first_track=0):
    for i in range(count):
        account.play(start_ms + i * every + 123, make_track(first_track + i))


def test_polls_insert_each_play_once_and_the_cursor_is_the_newest_stored_play(
    connection, account, wire
):
    _listen(account, T0, 10)
    first = _sync(connection)
    assert (first.fetched, first.inserted) == (10, 10)
    assert wire.queries[-1][1] == {"limit": "50"}  # no cursor yet

    again = _sync(connection)  # nothing new: the same cursor, nothing doubled
    newest_ms = T0 + 9 * 3 * MINUTE + 123
    assert wire.queries[-1][1] == {"limit": "50", "after": str(newest_ms)}
    assert (again.fetched, again.inserted) == (0, 0)

    _listen(account, T0 + 40 * MINUTE, 3, first_track=100)
    _sync(connection)
    assert Play.objects.filter(connection=connection).count() == 13
    newest = Play.objects.order_by("-played_at").first()
    assert newest.played_at == datetime.fromtimestamp((T0 + 46 * MINUTE + 123) / 1000, tz=UTC)
    assert newest.played_at.microsecond == 123_000  # millisecond precision kept
    assert newest.song is not None and newest.context_type == "album"


def test_overlapping_answers_never_double_a_play(connection, account, wire):
    _listen(account, T0, 5)
    _sync(connection)
    # Spotify answers a poll with plays the last one already had (a lagging cursor, or a
    # restart that asks without it): the unique key absorbs them.
    Play.objects.filter(played_at__gt=datetime.fromtimestamp(T0 / 1000 + 300, tz=UTC)).delete()
    _listen(account, T0 + 20 * MINUTE, 2, first_track=50)
    _sync(connection)
    assert Play.objects.count() == 7
    assert Play.objects.values("played_at", "track_id").distinct().count() == 7


def test_a_full_page_newer_than_the_cursor_records_a_gap_and_counts_it(connection, account, wire):
    _listen(account, T0, 1)
    _sync(connection)
    metrics.metrics_reset_store()
    _listen(account, T0 + 60 * MINUTE, 70, every=MINUTE, first_track=1000)  # 70 new: 20 lost

    report = _sync(connection)

    assert report.gap and report.inserted == 50
    gap = PlayGap.objects.get(connection=connection)
    assert gap.start == datetime.fromtimestamp((T0 + 123) / 1000, tz=UTC)
    assert gap.end == datetime.fromtimestamp((T0 + 80 * MINUTE + 123) / 1000, tz=UTC)
    text = metrics.metrics_exposition()[0].decode()
    assert 'encore_library_events_total{event="gap_found"} 1.0' in text
    assert _sync(connection).gap is False  # caught up: no new gap
    assert PlayGap.objects.count() == 1


def test_a_first_poll_with_a_full_page_records_no_gap(connection, account, wire):
    _listen(account, T0, 60, every=MINUTE)
    assert _sync(connection).gap is False
    assert not PlayGap.objects.exists()


def test_a_crash_between_fetch_and_commit_loses_nothing(connection, account, wire, monkeypatch):
    _listen(account, T0, 4)
    _sync(connection)
    _listen(account, T0 + 30 * MINUTE, 6, first_track=200)
    real_store = plays_service.plays_store

    def crash(**kwargs):
        real_store(**kwargs)  # written, then the worker dies before the commit
        raise RuntimeError("worker killed")

    monkeypatch.setattr(plays_service, "plays_store", crash)
    with pytest.raises(RuntimeError):
        _sync(connection)
    assert Play.objects.count() == 4  # rolled back: the cursor did not move
    monkeypatch.undo()

    report = _sync(connection)

    assert report.inserted == 6 and Play.objects.count() == 10
    assert wire.queries[-1][1]["after"] == wire.queries[-2][1]["after"]  # the same cursor


def test_a_429_pauses_the_job_without_losing_its_cursor_and_it_resumes(connection, account, wire):
    _listen(account, T0, 3)
    _sync(connection)
    _listen(account, T0 + 30 * MINUTE, 2, first_track=300)
    wire.fail("GET /me/player/recently-played", 429, {"Retry-After": "600"})
    job = job_create(
        kind="user_plays_sync",
        params={},
        trigger=JobTrigger.SCHEDULE,
        target_user=connection.user,
        enqueue=False,
    ).job

    job_run(job_id=job.pk, schedule_retry=False)

    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.next_attempt_at > timezone.now()
    [attempt] = job.attempt_records.all()
    assert attempt.outcome == AttemptOutcome.RETRYING
    # A pause is no failure of the user's: no error recorded on the connection's state.
    assert not LibrarySyncState.objects.filter(connection=connection).exclude(plays_error="")
    spotify_pause_clear()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())

    job_run(job_id=job.pk, schedule_retry=False)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result["inserted"] == 2
    after = [q["after"] for label, q in wire.queries if "after" in q]
    assert after[-1] == after[-2]  # the paused poll and the resumed one: the same cursor
    assert Play.objects.filter(source=PlaySource.API).count() == 5


def test_a_job_for_a_connection_needing_reauth_fails_with_that_reason(connection, wire):
    connection.status = "needs_reauth"
    connection.save()
    job = job_create(
        kind="user_plays_sync",
        params={},
        trigger=JobTrigger.API,
        target_user=connection.user,
        enqueue=False,
    ).job

    job_run(job_id=job.pk, schedule_retry=False)

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "needs_reauth")
    assert wire.calls.total() == 0
    assert "connect again" in connection.library_state.plays_error.lower()
