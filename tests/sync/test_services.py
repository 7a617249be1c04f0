"""The job life cycle through the services: create, claim, run, retry, fail, cancel, reap."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sync.exceptions import InvalidJobParams, JobNotCancellable, JobNotRetryable, UnknownJobKind
from sync.models import AttemptOutcome, JobStatus, JobTrigger, SyncJob
from sync.registry import registered
from sync.services import (
    job_cancel,
    job_claim,
    job_create,
    job_retry,
    job_run,
    jobs_reap_stale,
    retry_delay,
)
from sync.tasks import sync_job_run_task, sync_jobs_reap_task
from tests.sync import probe

pytestmark = pytest.mark.django_db


def create(kind: str = "probe", params: dict[str, Any] | None = None, **kwargs: Any) -> SyncJob:
    kwargs.setdefault("trigger", JobTrigger.API)
    kwargs.setdefault("enqueue", False)
    return job_create(kind=kind, params=params or {}, **kwargs).job


# --- Creation -------------------------------------------------------------------------------
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


def test_unknown_kind_is_refused_naming_the_known_ones(probe_kind):
    with pytest.raises(UnknownJobKind) as info:
        create(kind="nope")
    assert "kind: unknown job kind 'nope'" in info.value.message
    assert "catalog_import" in info.value.message and "probe" in info.value.message
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"batches": -1}, "params.batches: Ensure this value is greater than or equal to 0."),
        ({"batches": "many"}, "params.batches: Enter a whole number."),
        ({"fail": "sometimes"}, "params.fail: Select a valid choice."),
        ({"bathces": 3}, "params.bathces: unknown parameter for probe"),
        ({"batches": [1, 2]}, "params.batches: expected a single value, not list."),
    ],
)
def test_bad_params_are_refused_naming_the_field(probe_kind, params, expected):
    with pytest.raises(InvalidJobParams) as info:
        create(params=params)
    assert info.value.message.startswith(expected)
    assert info.value.http_status == 400
    assert not SyncJob.objects.exists()


def test_params_must_be_an_object(probe_kind):
    with pytest.raises(InvalidJobParams, match="params: expected an object"):
        job_create(kind="probe", params=["batches"], trigger=JobTrigger.API)  # type: ignore[arg-type]


def test_target_policy_is_checked(probe_kind, user):
    with pytest.raises(InvalidJobParams, match="target_user: probe works on shared data"):
        create(target_user=user)
    with pytest.raises(InvalidJobParams, match="target_user: user_probe needs a target user"):
        create(kind="user_probe")
    job = create(kind="user_probe", target_user=user)
    assert job.target_key == f"user:{user.pk}"


def test_flag_params_read_strings_as_the_shell_means_them(import_dir):
    (import_dir / "a.csv").write_text("x")
    kind_params = {"path": "a.csv", "strict": "0"}
    assert create(kind="catalog_import", params=kind_params).params["strict"] is False
    SyncJob.objects.all().delete()
    assert create(kind="catalog_import", params={**kind_params, "strict": "yes"}).params["strict"]
    with pytest.raises(InvalidJobParams, match=r"params\.strict: expected true or false"):
        create(kind="catalog_import", params={**kind_params, "strict": "perhaps"})


def test_import_path_must_stay_inside_the_import_folder(import_dir, tmp_path):
    (tmp_path / "secret.csv").write_text("title\n")
    with pytest.raises(InvalidJobParams, match=r"params\.path: must name a file inside the import"):
        create(kind="catalog_import", params={"path": "../secret.csv"})
    with pytest.raises(InvalidJobParams, match=r"params\.path: must name a file inside the import"):
        create(kind="catalog_import", params={"path": str(tmp_path / "secret.csv")})
    with pytest.raises(InvalidJobParams, match=r"params\.path: no such file in the import folder"):
        create(kind="catalog_import", params={"path": "missing.csv"})
    with pytest.raises(InvalidJobParams, match=r"params\.path: This field is required"):
        create(kind="catalog_import", params={})


# --- One active job per kind and target -----------------------------------------------------
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
        SyncJob.objects.create(kind="probe", trigger=JobTrigger.API, status=JobStatus.RUNNING)
    # Finished jobs of the same kind and target do not count.
    SyncJob.objects.create(kind="probe", trigger=JobTrigger.API, status=JobStatus.FAILED)
    SyncJob.objects.create(kind="probe", trigger=JobTrigger.API, status=JobStatus.FAILED)


# --- Claim and duplicate messages -----------------------------------------------------------
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


# --- Failures -------------------------------------------------------------------------------
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


def test_what_counts_as_transient():
    from django.db import OperationalError

    from core.exceptions import RateLimited, ValidationFailed
    from sync.exceptions import TransientJobError, is_transient

    class FlaggedUpstreamError(Exception):
        transient = True

    assert is_transient(TransientJobError())
    assert is_transient(FlaggedUpstreamError())
    assert is_transient(RateLimited(retry_after=30))
    assert is_transient(OperationalError("server closed the connection unexpectedly"))
    assert not is_transient(ValidationFailed())
    assert not is_transient(ValueError())


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


# --- Cancel and retry -----------------------------------------------------------------------
def test_cancel_pending_job_stops_it_before_it_runs(probe_kind):
    job = job_cancel(job=create())
    assert job.status == JobStatus.CANCELLED
    assert job_run(job_id=job.pk).claimed is False
    assert probe.RUNS == []
    assert job_cancel(job=job).status == JobStatus.CANCELLED  # asking again is harmless


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


# --- The reaper -----------------------------------------------------------------------------
def _left_running(job: SyncJob, *, beat_ago: timedelta) -> SyncJob:
    """What a killed worker leaves behind: running, attempt open, heartbeat getting old."""
    claim = job_claim(job_id=job.pk, task_id="dead-task")
    assert claim is not None
    claimed, _ = claim
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - beat_ago)
    return claimed


def test_reaper_fails_lost_job_and_requeues_repeatable_kind(
    probe_kind, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    lost = _left_running(create(params={"batches": 2}), beat_ago=timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_jobs_reap_task.apply().get()
    lost.refresh_from_db()
    assert result["lost"] == [lost.pk]
    assert (lost.status, lost.error_code) == (JobStatus.FAILED, "worker_lost")
    assert "Worker lost" in lost.error_message
    assert lost.attempt_records.get().outcome == AttemptOutcome.LOST
    [again] = lost.retries.all()
    assert result["requeued"] == [again.pk]
    assert again.trigger == JobTrigger.SCHEDULE
    assert again.status == JobStatus.SUCCEEDED  # it ran (eagerly) after the reaper committed


def test_reaper_leaves_beating_jobs_alone(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = _left_running(create(), beat_ago=timedelta(seconds=30))
    assert jobs_reap_stale().lost == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_reaper_does_not_requeue_kinds_unsafe_to_repeat(probe_kind, user, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = _left_running(create(kind="user_probe", target_user=user), beat_ago=timedelta(hours=1))
    report = jobs_reap_stale()
    assert report.lost == [job.pk] and report.requeued == []


def test_reaper_cancels_a_lost_job_that_was_being_cancelled(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = _left_running(create(), beat_ago=timedelta(hours=1))
    job_cancel(job=job)
    report = jobs_reap_stale()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and report.requeued == []


def test_reaper_stops_requeueing_a_job_that_keeps_losing_its_worker(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    settings.SYNC_REQUEUE_LIMIT = 2
    job = create()
    for _ in range(3):
        _left_running(job, beat_ago=timedelta(hours=1))
        report = jobs_reap_stale()
        nxt = SyncJob.objects.filter(retry_of=job).first()
        if nxt is None:
            break
        assert report.requeued == [nxt.pk]
        job = nxt
    assert SyncJob.objects.count() == 3  # the first loss and two re-queues, then it gives up
    assert not SyncJob.objects.filter(status__in=["pending", "running"]).exists()


def test_a_lost_worker_that_comes_back_cannot_overwrite_the_verdict(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = create(params={"batches": 3})
    from sync.services import JobContext

    claimed, attempt = job_claim(job_id=job.pk)
    ctx = JobContext(job=claimed, attempt=attempt)
    assert ctx.checkpoint(done=10, total=30) is True
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    jobs_reap_stale()
    # The slow worker reaches its next batch boundary: it is told to stop, and cannot finish.
    assert ctx.checkpoint(done=20) is False and ctx.stop_reason == "lost"
    assert ctx.finish(status=JobStatus.SUCCEEDED, result={}) is False
    job.refresh_from_db()
    assert (job.status, job.progress_done) == (JobStatus.FAILED, 10)


def test_reaper_resends_pending_jobs_whose_message_was_lost(
    probe_kind, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_PENDING_RESEND_AFTER = 60
    job = create()  # enqueue=False: as if the broker had been down
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    fresh = SyncJob.objects.create(kind="other", trigger=JobTrigger.API)
    with django_capture_on_commit_callbacks(execute=True):
        report = jobs_reap_stale()
    assert report.resent == [job.pk]
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and fresh.status == JobStatus.PENDING


def test_checkpoint_writes_one_query_per_batch(probe_kind, django_assert_num_queries):
    from sync.services import JobContext

    job, attempt = job_claim(job_id=create().pk)
    ctx = JobContext(job=job, attempt=attempt)
    with django_assert_num_queries(1):
        ctx.count_spotify_calls(3)
        assert ctx.checkpoint(done=5, total=10, failed=1)
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.progress_failed) == (5, 10, 1)
    assert job.spotify_calls == 3


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


def test_system_check_refuses_timings_above_the_visibility_timeout(settings):
    from sync.checks import check_visibility_timeout

    assert check_visibility_timeout() == []
    settings.SYNC_RETRY_MAX_DELAY = 5 * 60 * 60
    [error] = check_visibility_timeout()
    assert error.id == "sync.E001" and "SYNC_RETRY_MAX_DELAY" in error.msg
