"""The beat fan-out, request_sync and the purge on disconnect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from library.exceptions import LibrarySyncUnavailable, UnknownSyncKind
from library.models import LibrarySyncState, Play, PlayGap, Playlist, PlaylistItem
from library.services.requests import request_sync
from library.services.schedule import library_fan_out, next_due, slot_offset
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.ratelimit import spotify_pause, spotify_pause_clear
from spotify_integration.services.connections import connection_delete
from sync.models import JobStatus, SyncJob
from sync.schedule import PERIODIC_TASKS
from tests.library.conftest import other_connection

pytestmark = pytest.mark.django_db


def _jobs(kind=None):
    jobs = SyncJob.objects.all()
    return jobs.filter(kind=kind) if kind else jobs


def test_the_fan_out_is_a_beat_entry_every_minute():
    [entry] = [e for e in PERIODIC_TASKS if e.task == "library.fan_out"]
    assert entry.every_seconds == 60


def test_the_fan_out_starts_both_syncs_of_a_due_connection_once(connection):
    now = timezone.now()
    report = library_fan_out(now=now)

    assert dict(report.enqueued) == {"user_plays_sync": 1, "user_playlists_sync": 1}
    state = LibrarySyncState.objects.get(connection=connection)
    assert now < state.plays_due_at <= now + timedelta(minutes=15)
    assert now < state.playlists_due_at <= now + timedelta(hours=6)
    jobs = _jobs()
    assert {j.target_user_id for j in jobs} == {connection.user_id}
    assert {j.trigger for j in jobs} == {"schedule"}

    # A minute later nothing is due: no new job (and the pending ones are not doubled).
    again = library_fan_out(now=now + timedelta(minutes=1))
    assert not again.enqueued and _jobs().count() == 2


def test_a_due_connection_with_a_job_still_running_gets_no_second_one(connection):
    now = timezone.now()
    library_fan_out(now=now)
    report = library_fan_out(now=now + timedelta(hours=7))  # due again; first jobs pending
    assert report.already_active["user_plays_sync"] == 1
    assert _jobs("user_plays_sync").filter(status__in=["pending", "running"]).count() == 1


def test_slots_are_stable_per_connection_and_spread_over_the_interval(settings):
    settings.LIBRARY_PLAYS_SYNC_INTERVAL = 900
    offsets = {slot_offset(i, 900) for i in range(1, 1001)}
    assert len(offsets) > 500 and min(offsets) < 60 and max(offsets) > 840
    now = timezone.now()
    due = next_due(42, "user_plays_sync", now)
    assert now < due <= now + timedelta(seconds=900)
    assert next_due(42, "user_plays_sync", due) == due + timedelta(seconds=900)
    assert int(due.timestamp()) % 900 == slot_offset(42, 900)


def test_blocked_connections_are_skipped_with_the_reason_and_others_go_on(connection):
    reauth = other_connection(status=ConnectionStatus.NEEDS_REAUTH)
    expired = other_connection(authorized_at=timezone.now() - timedelta(days=200))

    report = library_fan_out()

    assert dict(report.skipped) == {"needs_reauth": 1, "expired": 1}
    assert report.enqueued["user_plays_sync"] == 1
    reasons = dict(LibrarySyncState.objects.values_list("connection_id", "skipped_reason"))
    assert reasons[reauth.pk].startswith("needs_reauth: ")
    assert reasons[expired.pk].startswith("expired: ")
    assert reasons[connection.pk] == ""
    assert {j.target_user_id for j in _jobs()} == {connection.user_id}


def test_while_spotify_is_paused_nothing_is_started_and_the_reason_is_stored(connection):
    spotify_pause(retry_after=600)
    try:
        report = library_fan_out()
    finally:
        spotify_pause_clear()
    assert report.skipped["paused"] == 1 and not _jobs().exists()
    assert LibrarySyncState.objects.get().skipped_reason.startswith("paused: ")

    library_fan_out()  # the pause is over: started, and the reason cleared
    assert _jobs().count() == 2 and LibrarySyncState.objects.get().skipped_reason == ""


def test_a_pending_profile_whose_job_gave_up_gets_a_new_job_from_the_fan_out(connection):
    # Given a connection made during a pause whose profile job failed for good (an outage
    # outlasted its attempts) an hour ago
    SpotifyConnection.objects.filter(pk=connection.pk).update(profile_pending=True)
    gave_up = SyncJob.objects.create(
        kind="spotify_profile_fetch",
        target_user=connection.user,
        status=JobStatus.FAILED,
        finished_at=timezone.now() - timedelta(hours=1),
    )

    report = library_fan_out()

    # Then the fan-out starts the profile job again (and no library sync: the account is
    # not known yet)
    [again] = _jobs("spotify_profile_fetch").exclude(pk=gave_up.pk)
    assert again.status == JobStatus.PENDING and again.target_user_id == connection.user_id
    assert report.skipped["profile_pending"] == 1
    assert report.enqueued["spotify_profile_fetch"] == 1
    assert not _jobs("user_plays_sync").exists()
    # A minute later: the new job is active, nothing more is started
    assert library_fan_out().enqueued["spotify_profile_fetch"] == 0
    assert _jobs("spotify_profile_fetch").count() == 2


def test_a_profile_job_that_failed_a_moment_ago_is_not_restarted_at_once(connection):
    SpotifyConnection.objects.filter(pk=connection.pk).update(profile_pending=True)
    SyncJob.objects.create(
        kind="spotify_profile_fetch",
        target_user=connection.user,
        status=JobStatus.FAILED,
        finished_at=timezone.now() - timedelta(minutes=1),
    )
    assert library_fan_out().enqueued["spotify_profile_fetch"] == 0
    assert _jobs("spotify_profile_fetch").count() == 1


def test_one_connections_trouble_in_the_fan_out_does_not_stop_the_others(connection, monkeypatch):
    other = other_connection()
    from library.services import schedule

    real = schedule.job_create

    def flaky(**kwargs):
        if kwargs["target_user"].pk == connection.user_id:
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(schedule, "job_create", flaky)
    report = library_fan_out()
    assert report.failed == 1
    assert {j.target_user_id for j in _jobs()} == {other.user_id}


def test_request_sync_starts_jobs_and_returns_the_active_ones_when_repeated(connection):
    jobs = [r.job for r in request_sync(connection, "all")]
    assert [j.kind for j in jobs] == ["user_plays_sync", "user_playlists_sync"]
    again = [r.job for r in request_sync(connection, "plays")]
    assert [j.pk for j in again] == [jobs[0].pk]
    assert _jobs().count() == 2


def test_request_sync_refuses_an_unknown_kind_naming_the_field(connection):
    with pytest.raises(UnknownSyncKind) as caught:
        request_sync(connection, "everything")
    assert caught.value.message.startswith("what: ") and caught.value.http_status == 400


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": ConnectionStatus.NEEDS_REAUTH}, "needs_reauth"),
        ({"refresh_token_encrypted": ""}, "needs_reauth"),
        ({"authorized_at": timezone.now() - timedelta(days=190)}, "expired"),
        (  # refused and past its 6 months: connection_health's order (refused first)
            {
                "status": ConnectionStatus.NEEDS_REAUTH,
                "authorized_at": timezone.now() - timedelta(days=190),
            },
            "needs_reauth",
        ),
        ({"profile_pending": True}, "profile_pending"),  # whose account is not known yet
    ],
)
def test_request_sync_refuses_a_connection_that_cannot_sync(connection, change, reason):
    for name, value in change.items():
        setattr(connection, name, value)
    connection.save()
    with pytest.raises(LibrarySyncUnavailable) as caught:
        request_sync(connection, "plays")
    assert caught.value.reason == reason and caught.value.detail["reason"] == reason
    assert not _jobs().exists()


def test_request_sync_while_paused_says_so_with_the_wait(connection):
    spotify_pause(retry_after=120)
    try:
        with pytest.raises(LibrarySyncUnavailable) as caught:
            request_sync(connection, "playlists")
    finally:
        spotify_pause_clear()
    assert caught.value.reason == "paused" and 0 < caught.value.retry_after <= 120


def test_disconnect_with_purge_deletes_the_whole_library(connection):
    now = timezone.now()
    playlist = Playlist.objects.create(connection=connection, spotify_id="p1")
    PlaylistItem.objects.create(playlist=playlist, position=0)
    Play.objects.create(connection=connection, played_at=now, track_id="t1")
    PlayGap.objects.create(connection=connection, start=now - timedelta(hours=1), end=now)
    LibrarySyncState.objects.create(connection=connection)
    keep = other_connection()
    Play.objects.create(connection=keep, played_at=now, track_id="t1")

    deleted = connection_delete(user=connection.user, purge=True)

    assert deleted["library.Play"] == 1 and deleted["library.PlaylistItem"] == 1
    assert deleted["library.PlayGap"] == 1 and deleted["library.LibrarySyncState"] == 1
    assert not Playlist.objects.exists() and not PlaylistItem.objects.exists()
    assert Play.objects.get().connection_id == keep.pk  # another user's plays stay


def test_the_schema_says_what_disconnect_and_purge_do(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/spotify/connection/"]["delete"]
    [purge] = [p for p in operation["parameters"] if p["name"] == "purge"]
    for text in (operation["description"], purge["description"]):
        assert "Today" not in text and "plays" in text  # the library goes with the connection


def test_a_failing_connections_job_sets_only_its_own_error(connection, account, wire):
    from sync.services.runner import job_run

    other = other_connection()
    wire.fail("GET /me/player/recently-played", 400)
    [mine] = [r.job for r in request_sync(connection, "plays")]
    job_run(job_id=mine.pk, schedule_retry=False)
    mine.refresh_from_db()
    assert mine.status == JobStatus.FAILED
    assert LibrarySyncState.objects.get(connection=connection).plays_error
    assert not LibrarySyncState.objects.filter(connection=other).exclude(plays_error="")


def test_a_fan_out_steps_aside_while_another_one_runs(connection):
    from library.tasks import library_fan_out_task
    from spotify_integration.ratelimit import cache_lock

    with cache_lock("library-fan-out", timeout=30, wait=0):
        result = library_fan_out_task()
    assert result == {"skipped": "another fan-out is running"} and not _jobs().exists()

    result = library_fan_out_task()  # the lock is free again
    assert result["enqueued"] == {"user_plays_sync": 1, "user_playlists_sync": 1}
