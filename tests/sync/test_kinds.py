"""The kinds (``sync.kinds``): ``catalog_import``, the catalog import service run as a job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Song
from sync.models import AttemptOutcome, JobStatus, JobTrigger, SyncJob
from sync.services.context import JobContext
from sync.services.jobs import job_cancel, job_create
from sync.services.reaper import jobs_reap_stale
from sync.services.runner import job_run

pytestmark = pytest.mark.django_db


def start(**params: Any) -> SyncJob:
    return job_create(
        kind="catalog_import", params=params, trigger=JobTrigger.ADMIN, enqueue=False
    ).job


def test_import_job_reports_counts_progress_and_bad_rows(songs_csv):
    name = songs_csv(rows=25, bad=3)
    job = start(path=name, batch_size=10)

    outcome = job_run(job_id=job.pk)

    job.refresh_from_db()
    assert outcome.status == JobStatus.SUCCEEDED == job.status
    assert Song.objects.count() == 25
    assert (job.progress_done, job.progress_total, job.progress_failed) == (28, 28, 3)
    result = job.result
    assert (result["rows_read"], result["created"], result["skipped"]) == (28, 25, 3)
    assert result["updated"] == 0 and result["cancelled"] is False
    assert [e["line"] for e in result["errors"]] == [27, 28, 29]  # header is line 1
    assert all(e["reason"] for e in result["errors"])
    assert result["errors_truncated"] is False and result["file"] == name


def test_running_the_same_file_again_changes_nothing(songs_csv):
    name = songs_csv(rows=12)
    first = start(path=name, batch_size=5)
    job_run(job_id=first.pk)
    again = start(path=name, batch_size=5)
    job_run(job_id=again.pk)
    again.refresh_from_db()
    assert Song.objects.count() == 12
    assert again.result["created"] == 0 and again.result["unchanged"] == 12


def test_cancel_mid_import_keeps_the_finished_batches(songs_csv):
    job = start(path=songs_csv(rows=50), batch_size=10)

    def operator_cancels_after_first_batch(snapshot: Any) -> None:
        if snapshot.done == 10:
            job_cancel(job=SyncJob.objects.get(pk=job.pk))

    outcome = job_run(job_id=job.pk, listener=operator_cancels_after_first_batch)

    job.refresh_from_db()
    assert outcome.status == JobStatus.CANCELLED == job.status
    # The cancel arrived during batch 2; the job stopped at the boundary after it.
    assert Song.objects.count() == 20
    assert job.progress_done == 20 and job.progress_total == 50
    assert job.result["cancelled"] is True and job.result["created"] == 20


class WorkerKilled(BaseException):
    """Stands in for SIGKILL / OOM: nothing in the job framework can catch it."""


def test_worker_lost_halfway_is_reaped_and_requeued_without_duplicates(
    songs_csv, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = start(path=songs_csv(rows=30), batch_size=10)

    # Given a worker that dies after committing two of three batches
    real_checkpoint = JobContext.checkpoint
    calls = {"n": 0}

    def dying_checkpoint(self: JobContext, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return real_checkpoint(self, **kwargs)

    monkeypatch.setattr(JobContext, "checkpoint", dying_checkpoint)
    with pytest.raises(WorkerKilled):
        job_run(job_id=job.pk)
    monkeypatch.setattr(JobContext, "checkpoint", real_checkpoint)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and Song.objects.count() == 20

    # When its heartbeat is older than the timeout and the reaper runs
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        report = jobs_reap_stale()

    # Then the lost job failed, a linked job ran the import again, and no song is doubled
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "worker_lost")
    assert job.attempt_records.get().outcome == AttemptOutcome.LOST
    again = SyncJob.objects.get(retry_of=job)
    assert report.requeued == [again.pk]
    assert again.status == JobStatus.SUCCEEDED
    assert again.result["created"] == 10 and again.result["unchanged"] == 20
    assert Song.objects.count() == 30
    assert Song.objects.values("identity_key").distinct().count() == 30


def test_strict_import_with_bad_rows_fails_and_lists_them(songs_csv):
    job = start(path=songs_csv(rows=5, bad=2), strict=True)
    outcome = job_run(job_id=job.pk)
    job.refresh_from_db()
    assert outcome.status == JobStatus.FAILED == job.status
    assert job.error_code == "import_refused"
    assert job.error_message == "2 bad rows; nothing was imported (strict mode)."
    assert [e["line"] for e in job.result["errors"]] == [7, 8]
    assert Song.objects.count() == 0


def test_a_file_the_service_cannot_read_fails_with_its_code(import_dir):
    (import_dir / "songs.txt").write_text("title\nA\n")
    job = start(path="songs.txt")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "import_file")
    assert "format" in job.error_message


def test_a_fake_gzip_fails_the_job_as_an_input_error(import_dir):
    (import_dir / "songs.csv.gz").write_bytes(b"title\nA\n")
    job = start(path="songs.csv.gz")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "import_file")
    assert "not a readable gzip file" in job.error_message
    # Garbage that failed at once is not kept for the retention days.
    assert "The file was deleted." in job.error_message
    assert not (import_dir / "songs.csv.gz").exists()
