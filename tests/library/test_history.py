"""The streaming-history export: validation, idempotent import, the API window rule, gaps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bench.fake_library import make_track
from core import metrics
from library.exceptions import HistoryFileInvalid, HistoryImportBusy
from library.models import Play, PlayGap, PlaySource
from library.services.history import import_history
from sync.models import JobStatus, SyncJob

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TRACK = make_track(1)["id"]
OTHER = make_track(2)["id"]


def row(ts: datetime, track: str | None = TRACK, ms: int = 200_000) -> dict:
    """A row as Spotify's Extended streaming history has it, personal fields included."""
    return {
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": "android",
        "ms_played": ms,
        "conn_country": "DE",
        "ip_addr": "203.0.113.7",
        "master_metadata_track_name": "Song",
        "master_metadata_album_artist_name": "Artist",
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": f"spotify:track:{track}" if track else None,
        "episode_name": None if track else "An episode",
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "incognito_mode": False,
    }


def upload(rows: list, name: str = "Streaming_History_Audio_2025.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, json.dumps(rows).encode())


def run_import(connection, files, capture):
    with capture(execute=True):  # the job is enqueued on commit; tests run tasks eagerly
        job = import_history(connection, files)
    job.refresh_from_db()
    return job


def test_an_export_is_imported_as_plays_without_personal_fields(
    connection, import_dir, django_capture_on_commit_callbacks
):
    rows = [row(T0 + timedelta(minutes=5 * i)) for i in range(3)]
    rows.append(row(T0 + timedelta(hours=1), track=None))  # a podcast: skipped
    rows.append(row(T0 + timedelta(hours=2), ms=4_000))  # a skip, not a play

    job = run_import(connection, [upload(rows)], django_capture_on_commit_callbacks)

    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.result["inserted"] == 3
    assert (job.result["skipped_episodes"], job.result["skipped_short"]) == (1, 1)
    play = Play.objects.filter(connection=connection).order_by("played_at").first()
    assert (play.played_at, play.track_id, play.ms_played) == (T0, TRACK, 200_000)
    assert play.source == PlaySource.EXPORT
    stored = json.dumps(list(Play.objects.values()), default=str)
    assert "203.0.113.7" not in stored and "android" not in stored and "DE" not in stored
    assert list(import_dir.iterdir()) == []  # the uploaded files (personal data) are gone


def test_importing_the_same_export_twice_adds_nothing(
    connection, import_dir, django_capture_on_commit_callbacks
):
    rows = [row(T0 + timedelta(minutes=5 * i)) for i in range(4)]
    run_import(connection, [upload(rows)], django_capture_on_commit_callbacks)
    # The same plays again, in two files this time.
    job = run_import(
        connection,
        [upload(rows[:2], "Streaming_History_Audio_a.json"), upload(rows[2:])],
        django_capture_on_commit_callbacks,
    )
    assert (job.result["inserted"], job.result["duplicates"]) == (0, 4)
    assert Play.objects.count() == 4


def test_an_export_row_within_the_window_of_an_api_play_is_the_same_play(
    connection, import_dir, django_capture_on_commit_callbacks, settings
):
    settings.LIBRARY_EXPORT_MATCH_WINDOW_SECONDS = 15
    api_time = T0 + timedelta(milliseconds=2_456)  # the API's ms; the export says 12:00:00
    Play.objects.create(
        connection=connection, played_at=api_time, track_id=TRACK, source=PlaySource.API
    )
    rows = [
        row(T0),  # the same play, seen by the export
        row(T0 + timedelta(seconds=3), track=OTHER),  # another track: a play of its own
        row(T0 + timedelta(minutes=4)),  # the same track again, minutes later: a new play
    ]

    job = run_import(connection, [upload(rows)], django_capture_on_commit_callbacks)

    assert (job.result["inserted"], job.result["duplicates"]) == (2, 1)
    assert Play.objects.filter(track_id=TRACK).count() == 2


def test_an_api_play_after_an_export_of_it_is_not_doubled(connection):
    from library.services.store import NewPlay, plays_store

    Play.objects.create(
        connection=connection, played_at=T0, track_id=TRACK, source=PlaySource.EXPORT
    )
    result = plays_store(
        connection_id=connection.pk,
        plays=[NewPlay(played_at=T0 + timedelta(milliseconds=900), track_id=TRACK)],
        source=PlaySource.API,
    )
    assert result.duplicates == 1 and Play.objects.count() == 1


def test_an_import_with_plays_inside_a_gap_fills_it(
    connection, import_dir, django_capture_on_commit_callbacks
):
    gap = PlayGap.objects.create(connection=connection, start=T0, end=T0 + timedelta(hours=2))
    other = PlayGap.objects.create(
        connection=connection, start=T0 + timedelta(days=3), end=T0 + timedelta(days=4)
    )
    rows = [row(T0 + timedelta(minutes=10 + 5 * i)) for i in range(3)]
    metrics.metrics_reset_store()

    job = run_import(connection, [upload(rows)], django_capture_on_commit_callbacks)

    text = metrics.metrics_exposition()[0].decode()
    assert 'encore_library_events_total{event="gap_filled"} 1.0' in text
    assert 'encore_library_events_total{event="plays_export"} 3.0' in text
    gap.refresh_from_db()
    other.refresh_from_db()
    assert gap.filled_at is not None and gap.filled_plays == 3
    assert other.filled_at is None
    assert job.result["gaps_filled"] == [gap.pk]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("Streaming_History_Audio_1.json", b"[{", "not valid JSON"),
        ("Streaming_History_Audio_1.json", b'{"ts": 1}', "expected a JSON list"),
        ("Streaming_History_Audio_1.json", b'[{"ts": "x"}]', "row 0: missing ms_played"),
        (
            "Streaming_History_Audio_1.json",
            json.dumps([{**row(T0), "ts": "yesterday"}]).encode(),
            "row 0: ts: not an ISO date-time",
        ),
        (
            "Streaming_History_Audio_1.json",
            json.dumps([{**row(T0), "ts": "0001-01-01T00:00:00+01:00"}]).encode(),
            "row 0: ts: out of range",
        ),
        (
            "Streaming_History_Audio_1.json",
            json.dumps([{**row(T0), "ms_played": 3_000_000_000}]).encode(),
            "row 0: ms_played: expected a whole number",
        ),
        (
            "Streaming_History_Audio_1.json",
            json.dumps([{**row(T0), "spotify_track_uri": "spotify:album:x"}]).encode(),
            "row 0: spotify_track_uri: not a track uri",
        ),
        (
            "StreamingHistory0.json",
            b'[{"endTime": "2025-01-01 10:00", "artistName": "A", "trackName": "T", '
            b'"msPlayed": 1000}]',
            "names no track ids",
        ),
        ("history.csv", b"ts,ms_played", "expected a .json file"),
    ],
)
def test_a_bad_file_is_refused_naming_it_and_nothing_is_imported(
    connection, import_dir, name, content, problem
):
    good = upload([row(T0)], "Streaming_History_Audio_0.json")
    bad = SimpleUploadedFile(name, content)

    with pytest.raises(HistoryFileInvalid) as caught:
        import_history(connection, [good, bad])

    assert caught.value.message.startswith(f"{name}: ") and problem in caught.value.message
    assert caught.value.detail["file"] == name
    assert not Play.objects.exists() and not SyncJob.objects.exists()
    assert list(import_dir.iterdir()) == []


def test_a_too_big_file_is_refused(connection, import_dir, settings):
    settings.LIBRARY_HISTORY_MAX_FILE_BYTES = 100
    with pytest.raises(HistoryFileInvalid, match="larger than 100 bytes"):
        import_history(connection, [upload([row(T0), row(T0 + timedelta(hours=1))])])
    assert not SyncJob.objects.exists()


def test_no_file_and_too_many_files_are_refused(connection, import_dir, settings):
    with pytest.raises(HistoryFileInvalid, match="files: no file"):
        import_history(connection, [])
    settings.LIBRARY_HISTORY_MAX_FILES = 1
    with pytest.raises(HistoryFileInvalid, match="at most 1 files"):
        import_history(connection, [upload([]), upload([])])


def test_a_file_that_goes_bad_before_the_job_reads_it_imports_nothing(
    connection, import_dir, django_capture_on_commit_callbacks
):
    # Two good files are accepted; one is damaged in the folder before the job runs: the job
    # fails and neither file's plays are written (one transaction for the set).
    job = import_history(
        connection,
        [upload([row(T0)], "Streaming_History_Audio_a.json"), upload([row(T0 + timedelta(1))])],
    )
    names = job.params["names"].split(",")
    (import_dir / names[1]).write_bytes(b"[{")
    from sync.services.runner import job_run

    job_run(job_id=job.pk, schedule_retry=False)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "not valid JSON" in job.error_message
    assert not Play.objects.exists()


def test_a_second_upload_while_one_imports_is_refused(connection, import_dir):
    import_history(connection, [upload([row(T0)])])  # left pending (no commit in this test)
    with pytest.raises(HistoryImportBusy):
        import_history(connection, [upload([row(T0 + timedelta(hours=1))])])
    assert len(list(import_dir.iterdir())) == 1  # the refused upload's file is not kept


def test_a_tuple_of_name_and_bytes_is_accepted(
    connection, import_dir, django_capture_on_commit_callbacks
):
    data = json.dumps([row(T0)]).encode()
    job = run_import(
        connection, [("Streaming_History_Audio_x.json", data)], django_capture_on_commit_callbacks
    )
    assert job.result["inserted"] == 1
