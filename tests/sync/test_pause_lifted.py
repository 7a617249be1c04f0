"""``manage.py spotify_unpause`` lets the jobs waiting out a Spotify pause go on at once.

Without it they stayed pending until the Retry-After they met (hours), though the pause mark
was gone (tests/proof/test_spotify_faults.py shows it with a real worker).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from spotify_integration.ratelimit import spotify_pause, spotify_pause_clear
from sync.models import JobStatus, SyncJob
from sync.registry import registered
from sync.services import resume
from sync.services.resume import jobs_resume_paused
from sync.services.runner import job_run
from tests.sync.helpers import create
from tests.sync.test_pauses import (  # noqa: F401 - probe_kind is a fixture, used by name
    PAUSE_PROBE,
    probe_kind,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pause_left():
    spotify_pause_clear()
    yield
    spotify_pause_clear()


def test_spotify_unpause_runs_the_paused_jobs_now(probe_kind, capsys):  # noqa: F811
    # Given a job paused for two hours by a 429 (tasks run eagerly here: the message runs it)
    spotify_pause(retry_after=7200)
    job = create(params={"fail": "paused", "fail_times": 1, "retry_after": 7200})
    job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert job.next_attempt_at > timezone.now() + timedelta(seconds=7000)
    # When an operator lifts the pause
    call_command("spotify_unpause")
    # Then the job is sent again at once and finishes, its pause not counted as a failure
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    assert list(job.attempt_records.values_list("outcome", flat=True).order_by("number")) == [
        "retrying",
        "succeeded",
    ]
    out = capsys.readouterr().out
    assert "Lifted the Spotify pause" in out and "1 paused jobs go on now." in out


def test_only_jobs_waiting_out_a_pause_are_made_due(
    probe_kind,  # noqa: F811
    fast_retries,
    monkeypatch,
):
    # The messages are recorded, not run: the eager run would start the kind's next job too
    sent: list[int] = []
    monkeypatch.setattr(resume, "job_enqueue", lambda *, job_id: sent.append(job_id))
    paused = create(params={"fail": "paused", "fail_times": 1, "retry_after": 7200})
    job_run(job_id=paused.pk, schedule_retry=False)
    # A job (of another kind: one active job a kind) backing off after another transient
    # failure keeps its own time
    with registered(dataclasses.replace(PAUSE_PROBE, name="probe_other")):
        other = create("probe_other", params={"fail": "transient", "fail_times": 1})
        job_run(job_id=other.pk, schedule_retry=False)
    later = timezone.now() + timedelta(seconds=600)
    SyncJob.objects.filter(pk=other.pk).update(next_attempt_at=later)
    assert SyncJob.objects.get(pk=other.pk).status == JobStatus.PENDING

    assert jobs_resume_paused() == [paused.pk] == sent
    assert SyncJob.objects.get(pk=paused.pk).next_attempt_at <= timezone.now()
    assert SyncJob.objects.get(pk=other.pk).next_attempt_at == later
    # Safe to repeat: nothing is waiting any more
    assert jobs_resume_paused() == []
    assert sent == [paused.pk]
