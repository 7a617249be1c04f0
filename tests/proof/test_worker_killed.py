"""A real Celery worker process killed (SIGKILL) halfway through an import job.

What it proves: the reaper fails the lost job (``worker_lost``) and queues it again; another
worker runs the new job to the end; the catalog holds each song once (the import commits
batch by batch and is idempotent).
"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import F

from catalog.models import Song
from sync.models import AttemptOutcome, JobStatus, SyncJob
from sync.services.jobs import job_create
from sync.services.reaper import jobs_reap_stale
from tests.proof.services import start_celery_worker, stop, wait_until
from tests.sync.conftest import CSV_HEADER

pytestmark = [pytest.mark.faults, pytest.mark.loopback, pytest.mark.worker]
ROWS = 6_000


def _write_csv(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [CSV_HEADER]
    lines += [
        f"Killed {i},Artist {i % 50},Album {i % 90},{180000 + i},,2001-02-03,false,\n"
        for i in range(ROWS)
    ]
    name = "killed-worker.csv"
    (folder / name).write_text("".join(lines), encoding="utf-8")
    return name


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_import_is_reaped_rerun_and_leaves_no_duplicates(on_redis, tmp_path):
    name = _write_csv(Path(settings.SYNC_IMPORT_DIR))
    database = settings.DATABASES["default"]["NAME"]
    log = tmp_path / "worker.log"
    first = start_celery_worker(broker_url=on_redis.url, database=database, log=log)
    second = None
    try:
        request = job_create(
            kind="catalog_import", params={"path": name, "batch_size": 200}, trigger="api"
        )
        job_id = request.job.pk

        def progressed() -> bool:
            job = SyncJob.objects.get(pk=job_id)
            return job.status == JobStatus.RUNNING and 0 < job.progress_done < ROWS

        wait_until(progressed, timeout=60, every=0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = SyncJob.objects.get(pk=job_id).progress_done
        assert 0 < killed_at < ROWS and Song.objects.count() < ROWS

        # The reaper, once the heartbeat is overdue: the job is lost and queued again
        # (its last heartbeat moved back instead of waiting out SYNC_HEARTBEAT_TIMEOUT)
        overdue = timedelta(seconds=settings.SYNC_HEARTBEAT_TIMEOUT + 1)
        SyncJob.objects.filter(pk=job_id).update(heartbeat_at=F("heartbeat_at") - overdue)
        report = jobs_reap_stale()
        assert report.lost == [job_id] and len(report.requeued) == 1
        lost = SyncJob.objects.get(pk=job_id)
        assert (lost.status, lost.error_code) == (JobStatus.FAILED, "worker_lost")
        assert lost.attempt_records.get().outcome == AttemptOutcome.LOST

        # Another worker runs the new job to the end
        second = start_celery_worker(broker_url=on_redis.url, database=database, log=log)
        rerun_id = report.requeued[0]
        wait_until(
            lambda: (
                SyncJob.objects.get(pk=rerun_id).status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
            ),
            timeout=60,
            every=0.05,
            explain=lambda: log.read_text(errors="replace")[-3000:],
        )
        rerun = SyncJob.objects.get(pk=rerun_id)
        assert rerun.status == JobStatus.SUCCEEDED, (rerun.error_code, rerun.error_message)
        assert rerun.retry_of_id == job_id
        assert rerun.result["rows_read"] == ROWS and rerun.result["skipped"] == 0
        assert rerun.result["created"] + rerun.result["unchanged"] == ROWS
        assert rerun.result["unchanged"] >= 1  # what the killed worker had committed

        # Each song once
        assert Song.objects.count() == ROWS
        assert Song.objects.values("title").distinct().count() == ROWS
    finally:
        stop(first)
        stop(second)
