"""The job context (``sync.services.context``): checkpoints, and writes guarded by the attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import JobStatus, SyncJob
from sync.services.context import JobContext
from sync.services.reaper import jobs_reap_stale
from sync.services.runner import job_claim
from tests.sync.helpers import create

pytestmark = pytest.mark.django_db


def test_checkpoint_writes_one_query_per_batch(probe_kind, django_assert_num_queries):
    job, attempt = job_claim(job_id=create().pk)
    ctx = JobContext(job=job, attempt=attempt)
    with django_assert_num_queries(1):
        ctx.add_spotify_calls(3)
        assert ctx.checkpoint(done=5, total=10, failed=1)
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.progress_failed) == (5, 10, 1)
    assert job.spotify_calls == 3


def test_a_lost_worker_that_comes_back_cannot_overwrite_the_verdict(probe_kind, settings):
    settings.SYNC_HEARTBEAT_TIMEOUT = 60
    job = create(params={"batches": 3})
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


def test_spotify_calls_are_the_jobs_total_over_its_attempts(probe_kind):
    job = create()
    SyncJob.objects.filter(pk=job.pk).update(spotify_calls=5)  # an earlier attempt's requests
    claimed, attempt = job_claim(job_id=job.pk)
    ctx = JobContext(job=claimed, attempt=attempt)
    ctx.add_spotify_calls(2)
    assert ctx.spotify_calls == 7
    assert ctx.checkpoint(done=1)
    ctx.add_spotify_calls()
    assert ctx.finish(status=JobStatus.SUCCEEDED)
    job.refresh_from_db()
    assert job.spotify_calls == 8 == ctx.spotify_calls
