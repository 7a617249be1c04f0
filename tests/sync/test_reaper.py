"""The reaper (``sync.services.reaper``): lost workers, re-queues, resent messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import AttemptOutcome, JobStatus, JobTrigger, SyncJob
from sync.services.jobs import job_cancel
from sync.services.reaper import jobs_reap_stale
from sync.tasks import sync_jobs_reap_task
from tests.sync.factories import SyncJobFactory
from tests.sync.helpers import create, left_running

pytestmark = pytest.mark.django_db


def test_reaper_fails_lost_job_and_requeues_repeatable_kind(
    probe_kind, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    lost = left_running(create(params={"batches": 2}), beat_ago=timedelta(seconds=61))
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
    job = left_running(create(), beat_ago=timedelta(seconds=30))
    assert jobs_reap_stale().lost == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_reaper_does_not_requeue_kinds_unsafe_to_repeat(probe_kind, user, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = left_running(create(kind="user_probe", target_user=user), beat_ago=timedelta(hours=1))
    report = jobs_reap_stale()
    assert report.lost == [job.pk] and report.requeued == []


def test_reaper_cancels_a_lost_job_that_was_being_cancelled(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = left_running(create(), beat_ago=timedelta(hours=1))
    job_cancel(job=job)
    report = jobs_reap_stale()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and report.requeued == []


def test_reaper_stops_requeueing_a_job_that_keeps_losing_its_worker(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    settings.SYNC_REQUEUE_LIMIT = 2
    job = create()
    for _ in range(3):
        left_running(job, beat_ago=timedelta(hours=1))
        report = jobs_reap_stale()
        nxt = SyncJob.objects.filter(retry_of=job).first()
        if nxt is None:
            break
        assert report.requeued == [nxt.pk]
        job = nxt
    assert SyncJob.objects.count() == 3  # the first loss and two re-queues, then it gives up
    assert not SyncJob.objects.filter(status__in=["pending", "running"]).exists()


def test_reaper_resends_pending_jobs_whose_message_was_lost(
    probe_kind, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_PENDING_RESEND_AFTER = 60
    job = create()  # enqueue=False: as if the broker had been down
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    fresh = SyncJobFactory(kind="other")
    with django_capture_on_commit_callbacks(execute=True):
        report = jobs_reap_stale()
    assert report.resent == [job.pk]
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and fresh.status == JobStatus.PENDING


def test_a_lost_worker_is_counted_in_the_metrics(probe_kind, settings):
    from core import metrics

    # Given a job whose worker died (the runner never ends its attempt)
    metrics.metrics_store().clear()
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    left_running(create(params={"fail": "permanent"}), beat_ago=timedelta(seconds=61))
    settings.SYNC_REQUEUE_LIMIT = 0
    # When the reaper ends it, Then /metrics counts the attempt as lost
    jobs_reap_stale()
    figures = metrics.metrics_store().read()
    assert figures["encore_sync_jobs"] == {'["probe","lost"]': 1.0}
    assert figures["encore_sync_job_duration_seconds"]['count|["probe","lost"]'] == 1.0
