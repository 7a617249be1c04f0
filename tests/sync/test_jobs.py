"""Job commands (``sync.services.jobs``): create, one active job per kind and target, cancel,
retry."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from sync.exceptions import InvalidJobParams, JobNotCancellable, JobNotRetryable
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.services.jobs import job_cancel, job_create, job_retry
from sync.services.runner import job_run
from tests.sync import probe
from tests.sync.factories import SyncJobFactory
from tests.sync.helpers import create

pytestmark = pytest.mark.django_db


# --- Creation ---------------------------------------------------------------------------------
def test_create_fills_defaults_and_enqueues_on_commit(
    probe_kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        request = job_create(kind="probe", params={"batches": 2}, trigger=JobTrigger.API)
    assert request.created
    assert len(callbacks) == 1  # the task message waits for the commit
    job = SyncJob.objects.get(pk=request.job.pk)
    assert job.params == {
        "batches": 2,
        "batch_size": 10,
        "fail": "",
        "fail_times": 1,
        "cancel_after_batch": 0,
    }
    # Eager mode (no broker): the committed job ran in-process.
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.attempts) == (20, 20, 1)
    assert job.spotify_calls == 2
    assert job.result == {"done": 20}
    assert job.started_at <= job.heartbeat_at <= job.finished_at


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    probe_kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                job_create(kind="probe", params={}, trigger=JobTrigger.API)
                raise RuntimeError("the request failed after creating the job")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not SyncJob.objects.exists()


def test_target_policy_is_checked(probe_kind, user):
    with pytest.raises(InvalidJobParams, match="target_user: probe works on shared data"):
        create(target_user=user)
    with pytest.raises(InvalidJobParams, match="target_user: user_probe needs a target user"):
        create(kind="user_probe")
    job = create(kind="user_probe", target_user=user)
    assert job.target_key == f"user:{user.pk}"


# --- One active job per kind and target -------------------------------------------------------
def test_second_request_gets_the_active_job_back(probe_kind, user, staff_user):
    first = job_create(kind="probe", params={}, trigger=JobTrigger.API, enqueue=False)
    again = job_create(kind="probe", params={"batches": 9}, trigger=JobTrigger.ADMIN, enqueue=False)
    assert first.created and not again.created and again.already_active
    assert again.job.pk == first.job.pk
    # Another target is another job; so is the same kind once the first one has finished.
    mine = job_create(kind="user_probe", params={}, trigger="api", target_user=user, enqueue=False)
    theirs = job_create(
        kind="user_probe", params={}, trigger="api", target_user=staff_user, enqueue=False
    )
    assert mine.created and theirs.created
    SyncJob.objects.filter(pk=first.job.pk).update(status=JobStatus.SUCCEEDED)
    assert job_create(kind="probe", params={}, trigger="api", enqueue=False).created


def test_database_refuses_a_second_active_job(probe_kind):
    create()
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncJobFactory(status=JobStatus.RUNNING)
    # Finished jobs of the same kind and target do not count.
    SyncJobFactory(status=JobStatus.FAILED)
    SyncJobFactory(status=JobStatus.FAILED)


# --- Cancel and retry -------------------------------------------------------------------------
def test_cancel_pending_job_stops_it_before_it_runs(probe_kind):
    job = job_cancel(job=create())
    assert job.status == JobStatus.CANCELLED
    assert job_run(job_id=job.pk).claimed is False
    assert probe.RUNS == []
    assert job_cancel(job=job).status == JobStatus.CANCELLED  # asking again is harmless


def test_cancel_finished_job_is_a_conflict(probe_kind):
    job = create()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    with pytest.raises(JobNotCancellable) as info:
        job_cancel(job=job)
    assert info.value.http_status == 409


def test_retry_creates_a_new_job_linked_to_the_old(probe_kind, staff_user):
    failed = create(params={"fail": "permanent", "batches": 4})
    job_run(job_id=failed.pk)
    failed.refresh_from_db()
    request = job_retry(job=failed, trigger=JobTrigger.ADMIN, triggered_by=staff_user)
    assert request.created
    retry = request.job
    assert retry.pk != failed.pk and retry.retry_of_id == failed.pk
    assert retry.params == failed.params and retry.status == JobStatus.PENDING
    assert retry.triggered_by == staff_user and retry.trigger == JobTrigger.ADMIN
    assert list(failed.retries.all()) == [retry]


def test_only_failed_or_cancelled_jobs_can_be_retried(probe_kind):
    job = create()
    with pytest.raises(JobNotRetryable):
        job_retry(job=job, trigger=JobTrigger.API)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    with pytest.raises(JobNotRetryable, match="is succeeded"):
        job_retry(job=job, trigger=JobTrigger.API)
