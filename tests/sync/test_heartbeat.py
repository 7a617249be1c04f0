"""A thread beats a running job's heartbeat, also while the job waits between checkpoints, so
a short SYNC_HEARTBEAT_TIMEOUT is safe (issue 14)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django import forms
from django.db import connection

from sync.models import JobStatus, SyncJob
from sync.registry import JobKind, registered
from sync.services.reaper import jobs_reap_stale
from sync.services.runner import job_run
from tests.sync.helpers import create

# The beating thread writes with its own connection: the job row must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SEEN: list[Any] = []


def _waits_without_checkpoints(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """A job that waits (for Spotify budget, say) far longer than the heartbeat timeout and
    checkpoints nothing meanwhile; the reaper runs while it waits."""
    started = SyncJob.objects.get(pk=ctx.job_id).heartbeat_at
    time.sleep(params["wait"])
    SEEN.append((started, SyncJob.objects.get(pk=ctx.job_id).heartbeat_at, jobs_reap_stale()))
    return {}


class SlowParams(forms.Form):
    wait = forms.FloatField(min_value=0)


SLOW = JobKind(
    name="slow_probe",
    label="Slow probe",
    description="Waits without checkpoints.",
    run=_waits_without_checkpoints,
    params_form=SlowParams,
    repeatable=False,
)


@pytest.fixture
def slow_kind(settings):
    settings.SYNC_HEARTBEAT_INTERVAL = 0.1
    settings.SYNC_HEARTBEAT_TIMEOUT = 1
    SEEN.clear()
    with registered(SLOW):
        yield SLOW


def test_the_heartbeat_goes_on_while_a_job_waits_between_checkpoints(slow_kind):
    if connection.vendor != "postgresql":
        # SQLite's in-memory test database is shared between threads with table locks: the
        # beating thread's own connection cannot write while the job's thread reads it.
        pytest.skip("the beating thread's own connection needs PostgreSQL's test database")
    job = create(kind="slow_probe", params={"wait": 2.0})
    outcome = job_run(job_id=job.pk)
    [(started, later, report)] = SEEN
    assert later > started  # beaten during the wait, with no checkpoint
    assert report.lost == []  # a wait twice the timeout did not make the job "lost"
    assert outcome.status == JobStatus.SUCCEEDED


def test_a_job_whose_worker_died_is_reaped_after_the_short_timeout(slow_kind):
    from datetime import timedelta

    from tests.sync.helpers import left_running

    job = left_running(create(kind="slow_probe", params={"wait": 0}), beat_ago=timedelta(0))
    time.sleep(1.2)  # no thread beats for a dead worker
    assert jobs_reap_stale().lost == [job.pk]
