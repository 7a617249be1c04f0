"""The runner (``sync.services.runner``): claim, run, finish, retries with backoff."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sync.models import AttemptOutcome, JobStatus, SyncJob
from sync.registry import registered
from sync.services.runner import job_claim, job_run, retry_delay
from sync.tasks import sync_job_run_task
from tests.sync import probe
from tests.sync.helpers import create

pytestmark = pytest.mark.django_db


# --- Claim and duplicate messages -------------------------------------------------------------
def test_claim_is_won_once(probe_kind):
    job = create()
    assert job_claim(job_id=job.pk, task_id="t1") is not None
    assert job_claim(job_id=job.pk, task_id="t2") is None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.celery_task_id) == (JobStatus.RUNNING, 1, "t1")
    [attempt] = job.attempt_records.all()  # opened in the claim's transaction
    assert (attempt.number, attempt.outcome, attempt.celery_task_id) == (1, "running", "t1")


def test_the_same_message_twice_runs_the_job_once(probe_kind):
    job = create()
    sync_job_run_task.apply(args=[job.pk])
    sync_job_run_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert [(job.pk, 1)] == probe.RUNS
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert job.attempt_records.count() == 1


# --- Failures ---------------------------------------------------------------------------------
def test_permanent_error_fails_the_job_with_code_and_message(probe_kind):
    job = create(params={"fail": "permanent"})
    outcome = job_run(job_id=job.pk)
    job.refresh_from_db()
    assert outcome.status == JobStatus.FAILED
    assert (job.status, job.error_code) == (JobStatus.FAILED, "probe_broke")
    assert job.error_message == "the probe was told to break"
    assert job.attempts == 1 and job.finished_at is not None
    [attempt] = job.attempt_records.all()
    assert (attempt.outcome, attempt.error_code) == (AttemptOutcome.FAILED, "probe_broke")


def test_a_kind_can_fail_with_a_result_summary(probe_kind):
    job = create(params={"fail": "refused"})
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "probe_refused")
    assert job.error_message == "3 things were wrong"
    assert job.result == {"wrong": [1, 2, 3]}


def test_transient_error_retries_with_backoff_and_records_each_attempt(
    probe_kind, fast_retries, django_capture_on_commit_callbacks
):
    job = create(params={"fail": "transient", "fail_times": 2})
    with django_capture_on_commit_callbacks(execute=True):
        outcome = job_run(job_id=job.pk)
    assert outcome.status == JobStatus.PENDING and outcome.retry_in is not None
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 3
    assert [(a.number, a.outcome, a.error_code) for a in job.attempt_records.all()] == [
        (1, AttemptOutcome.RETRYING, "transient"),
        (2, AttemptOutcome.RETRYING, "transient"),
        (3, AttemptOutcome.SUCCEEDED, ""),
    ]
    assert all(a.retry_in_seconds for a in job.attempt_records.all()[:2])


def test_transient_errors_stop_at_the_attempt_cap(
    probe_kind, fast_retries, django_capture_on_commit_callbacks
):
    job = create(params={"fail": "transient", "fail_times": 99})
    with django_capture_on_commit_callbacks(execute=True):
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == (JobStatus.FAILED, "transient", 3)
    outcomes = list(job.attempt_records.values_list("outcome", flat=True))
    assert outcomes == ["retrying", "retrying", "failed"]


def test_waiting_retry_is_pending_until_its_time(probe_kind, settings):
    settings.SYNC_RETRY_BASE_DELAY = 30
    job = create(params={"fail": "transient"})
    outcome = job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert 24 <= outcome.retry_in <= 36  # 30 s ± 20 % jitter
    assert job.next_attempt_at > timezone.now() + timedelta(seconds=20)


def test_backoff_grows_exponentially_and_is_capped(settings):
    settings.SYNC_RETRY_BASE_DELAY = 10
    settings.SYNC_RETRY_MAX_DELAY = 100
    delays = [retry_delay(attempt=n) for n in (1, 2, 3, 4, 5, 6)]
    assert 8 <= delays[0] <= 12 and 16 <= delays[1] <= 24 and 32 <= delays[2] <= 48
    assert all(d <= 100 for d in delays) and delays[5] >= 80
    assert retry_delay(attempt=1, retry_after=60) >= 60  # a 429's Retry-After is honoured


def test_a_job_whose_kind_disappeared_fails_cleanly(probe_kind):
    job = create()
    SyncJob.objects.filter(pk=job.pk).update(kind="retired_kind")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "unknown_kind")


def test_soft_time_limit_fails_the_job_as_time_limit(probe_kind):
    from celery.exceptions import SoftTimeLimitExceeded

    def too_slow(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise SoftTimeLimitExceeded

    slow = dataclasses.replace(probe.PROBE, name="too_slow", run=too_slow)
    with registered(slow):
        job = create(kind="too_slow")
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "time_limit")


# --- Cancel -----------------------------------------------------------------------------------
def test_cancel_running_job_stops_at_the_next_batch_boundary(probe_kind):
    job = create(params={"batches": 5, "batch_size": 10, "cancel_after_batch": 2})
    outcome = job_run(job_id=job.pk)
    job.refresh_from_db()
    assert outcome.status == JobStatus.CANCELLED
    assert job.status == JobStatus.CANCELLED
    # Batches 1 and 2 finished and are kept; batch 3 never started.
    assert (job.progress_done, job.progress_total) == (20, 50)
    assert job.result == {"done": 20}
    assert job.attempt_records.get().outcome == AttemptOutcome.CANCELLED


def _batch_then_transient(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Commits one more batch each attempt, then meets a 5xx, until ``params["batches"]``."""
    done = ctx.done + 1
    if not ctx.checkpoint(done=done, total=params["batches"]):
        return {"stopped": True}
    if done < params["batches"]:
        raise probe.TransientJobError("upstream answered 503")
    return {"done": done}


def _transient_at_once(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    raise probe.TransientJobError("upstream answered 503")


@pytest.mark.parametrize("limit", [20, 3])
def test_transient_failures_after_progress_use_none_of_the_kinds_attempts(
    fast_retries, settings, limit
):
    # A long job on a flaky Spotify: every attempt commits a batch, then meets a 5xx.
    settings.SYNC_PROGRESS_RETRY_LIMIT = limit
    kind = dataclasses.replace(probe.PROBE, name="flaky_long", run=_batch_then_transient)
    with registered(kind):
        job = create(kind="flaky_long", params={"batches": 6})
        for _ in range(10):
            if job_run(job_id=job.pk, schedule_retry=False).status != JobStatus.PENDING:
                break
            SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    job.refresh_from_db()
    if limit == 20:
        # 6 attempts, each a step further, though the kind allows 3 failed ones.
        assert (job.status, job.attempts, job.progress_done) == (JobStatus.SUCCEEDED, 6, 6)
        progressed = job.attempt_records.order_by("number").values_list("progressed", flat=True)
        assert list(progressed) == [True, True, True, True, True, False]
    else:
        # The cap: the 4th progressing failure ends the job.
        assert (job.status, job.attempts, job.error_code) == (JobStatus.FAILED, 4, "transient")


def test_transient_failures_without_progress_still_use_the_kinds_attempts(fast_retries):
    kind = dataclasses.replace(probe.PROBE, name="flaky_stuck", run=_transient_at_once)
    with registered(kind):
        job = create(kind="flaky_stuck", params={})
        for _ in range(10):
            if job_run(job_id=job.pk, schedule_retry=False).status != JobStatus.PENDING:
                break
            SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, probe.PROBE.max_attempts)
    assert not job.attempt_records.filter(progressed=True).exists()
