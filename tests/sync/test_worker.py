"""Proof against a real Celery worker on the Redis broker and real PostgreSQL transactions."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection, transaction

from sync.models import AttemptOutcome, JobStatus, JobTrigger, SyncJob
from sync.services.jobs import JobRequest, job_cancel, job_create
from sync.tasks import sync_job_run_task
from tests.sync import probe
from tests.sync.conftest import wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    # Row locks, concurrent transactions and a broker are the point here. Without the servers
    # (`make test` on a bare machine) these are skipped; CI, which has them, skips nothing.
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
        or not settings.REDIS_URL,
        reason="needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL)",
    ),
]


def _status(job_id: int) -> str:
    return SyncJob.objects.values_list("status", flat=True).get(pk=job_id)


def test_worker_takes_a_job_from_pending_to_succeeded(celery_worker, probe_kind):
    # Given a job created through the service (its message is sent on commit)
    request = job_create(kind="probe", params={"batches": 3}, trigger=JobTrigger.API)
    assert request.created and _status(request.job.pk) == JobStatus.PENDING

    # When the worker picks it up
    wait_for(lambda: _status(request.job.pk) == JobStatus.SUCCEEDED)

    # Then it ran once, in the worker, with its progress and attempt recorded
    job = SyncJob.objects.get(pk=request.job.pk)
    assert (job.progress_done, job.progress_total, job.attempts) == (30, 30, 1)
    assert job.celery_task_id and job.result == {"done": 30}
    [attempt] = job.attempt_records.all()
    assert attempt.outcome == AttemptOutcome.SUCCEEDED and attempt.worker
    assert [(job.pk, 1)] == probe.RUNS


def test_same_message_delivered_twice_runs_the_job_once(celery_worker, probe_kind):
    request = job_create(kind="probe", params={}, trigger=JobTrigger.API)
    # A second delivery of the same job's message (redelivery, a duplicated publish).
    sync_job_run_task.apply_async(args=[request.job.pk], queue=celery_worker.queue)

    wait_for(lambda: celery_worker.count("sync.run_job", (request.job.pk,)) == 2)

    job = SyncJob.objects.get(pk=request.job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert [(job.pk, 1)] == probe.RUNS
    assert job.attempt_records.count() == 1


def test_cancel_mid_run_stops_at_a_batch_boundary(celery_worker):
    request = job_create(
        kind="worker_check",
        params={"items": 10_000, "batch_size": 10, "pause_ms": 20},
        trigger=JobTrigger.API,
    )
    job_id = request.job.pk
    wait_for(lambda: SyncJob.objects.get(pk=job_id).progress_done >= 30)

    job_cancel(job=SyncJob.objects.get(pk=job_id))

    wait_for(lambda: _status(job_id) == JobStatus.CANCELLED)
    job = SyncJob.objects.get(pk=job_id)
    assert 30 <= job.progress_done < 10_000
    assert job.progress_done % 10 == 0  # whole batches only
    assert job.result["items"] == job.progress_done  # the finished work is kept and reported
    assert job.attempt_records.get().outcome == AttemptOutcome.CANCELLED


def test_transient_failure_is_retried_by_the_worker_after_backoff(
    celery_worker, probe_kind, fast_retries
):
    request = job_create(
        kind="probe", params={"fail": "transient", "fail_times": 1}, trigger=JobTrigger.API
    )
    wait_for(lambda: _status(request.job.pk) == JobStatus.SUCCEEDED)
    job = SyncJob.objects.get(pk=request.job.pk)
    assert job.attempts == 2
    assert list(job.attempt_records.values_list("outcome", flat=True)) == ["retrying", "succeeded"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_for_the_same_kind_create_one_job(probe_kind):
    # Given eight requests released at the same instant, each on its own connection
    barrier = threading.Barrier(8)

    def request(_: int) -> JobRequest:
        try:
            barrier.wait(timeout=10)
            return job_create(kind="probe", params={}, trigger=JobTrigger.API, enqueue=False)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(request, range(8)))

    # Then exactly one created the job and all got that job back
    assert sum(r.created for r in results) == 1
    assert {r.job.pk for r in results} == {SyncJob.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_the_loser_of_an_insert_race_gets_the_winners_job(probe_kind):
    # Given request A has inserted its job but not committed yet, so B's check sees nothing
    inserted, outcome = threading.Event(), {}

    def request_a() -> None:
        try:
            with transaction.atomic():
                outcome["a"] = job_create(
                    kind="probe", params={}, trigger=JobTrigger.API, enqueue=False
                )
                inserted.set()
                time.sleep(0.3)  # B is now blocked on the unique index
        finally:
            connection.close()

    def request_b() -> None:
        try:
            inserted.wait(timeout=10)
            outcome["b"] = job_create(
                kind="probe", params={}, trigger=JobTrigger.ADMIN, enqueue=False
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=request_a), threading.Thread(target=request_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # Then the database made B wait for A, and B returned A's job instead of a second one
    assert outcome["a"].created and not outcome["b"].created
    assert outcome["b"].job.pk == outcome["a"].job.pk
    assert SyncJob.objects.count() == 1


def test_uploaded_import_runs_in_the_background_on_the_worker(
    celery_worker, client, staff_user, songs_csv, import_dir
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from catalog.models import Song

    # Given an operator uploading a file on the Import songs page
    name = songs_csv(rows=30, bad=2)
    client.force_login(staff_user)
    upload = SimpleUploadedFile("upload.csv", (import_dir / name).read_bytes())
    response = client.post(
        reverse("admin:sync_syncjob_import"), {"file": upload, "batch_size": "10"}
    )
    job = SyncJob.objects.get(kind="catalog_import")
    assert response.status_code == 302

    # When the worker has run it
    wait_for(lambda: _status(job.pk) in (JobStatus.SUCCEEDED, JobStatus.FAILED))

    # Then the songs are in the catalog and the job's result lists the bad rows
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempt_records.get().worker
    assert Song.objects.count() == 30
    assert job.result["created"] == 30 and len(job.result["errors"]) == 2
    assert (job.progress_done, job.progress_total, job.progress_failed) == (32, 32, 2)
