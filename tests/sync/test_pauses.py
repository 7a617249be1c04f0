"""Rate-limit pauses: a job stopped by a Spotify 429 waits out the pause and goes on.

A pause is not the job's failure: the job goes back to pending until the pause ends, and the
wait uses none of the kind's attempts (``SYNC_PAUSE_LIMIT`` caps pauses instead).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
from django import forms
from django.utils import timezone

from core import metrics
from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import SpotifyRateLimited
from spotify_integration.ratelimit import Lane, spotify_pause_clear
from sync.models import AttemptOutcome, JobStatus, SyncJob
from sync.registry import registered
from sync.services.runner import job_run
from tests.spotify_integration.fakes import FakeSpotify, error_body, token_body
from tests.sync import probe
from tests.sync.helpers import create

pytestmark = pytest.mark.django_db

TRACK = "4uLU6hMCjMI75M1A2tKUQC"


class PauseProbeParams(probe.ProbeParams):
    fail = forms.ChoiceField(
        choices=[*probe.ProbeParams.base_fields["fail"].choices, ("paused", "paused")],  # type: ignore[attr-defined]
        required=False,
        initial="",
    )
    retry_after = forms.IntegerField(min_value=1, initial=30)  # seconds, for fail="paused"


def pause_probe_run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The probe, which with ``fail="paused"`` meets a Spotify 429 on its first runs."""
    if params["fail"] == "paused" and ctx.attempt_number <= params["fail_times"]:
        probe.RUNS.append((ctx.job_id, ctx.attempt_number))
        raise SpotifyRateLimited(
            retry_after=params["retry_after"], detail={"reason": "QUOTA_EXCEEDED"}
        )
    return probe.probe_run(
        ctx, {**params, "fail": "" if params["fail"] == "paused" else params["fail"]}
    )


PAUSE_PROBE = dataclasses.replace(
    probe.PROBE, name="probe", run=pause_probe_run, params_form=PauseProbeParams
)


@pytest.fixture
def probe_kind() -> Iterator[Any]:
    """The probe kind (3 attempts), able to meet a 429 too."""
    probe.RUNS.clear()
    with registered(PAUSE_PROBE):
        yield PAUSE_PROBE


def _time_passes(job: SyncJob) -> None:
    """The pause is over: the job is due now (instead of sleeping through it)."""
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())


def test_a_pause_puts_the_job_back_until_the_pause_ends(probe_kind, caplog):
    job = create(params={"fail": "paused", "retry_after": 7200})
    before = timezone.now()
    with caplog.at_level(logging.WARNING, logger="sync.services.runner"):
        outcome = job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    assert (outcome.status, job.status) == (JobStatus.PENDING, JobStatus.PENDING)
    # Not capped by SYNC_RETRY_MAX_DELAY (900 s): the job runs after the two hours, not before.
    assert outcome.retry_in is not None and outcome.retry_in >= 7200
    assert job.next_attempt_at >= before + timedelta(seconds=7200)
    [attempt] = job.attempt_records.all()
    assert (attempt.outcome, attempt.error_code) == (
        AttemptOutcome.RETRYING,
        "spotify_rate_limited",
    )
    assert "paused" in caplog.text and "not a failed attempt" in caplog.text


def test_a_message_before_the_pause_ends_runs_nothing(probe_kind):
    job = create(params={"fail": "paused", "fail_times": 1, "retry_after": 3600})
    job_run(job_id=job.pk, schedule_retry=False)
    outcome = job_run(job_id=job.pk, schedule_retry=False)  # e.g. a resent message
    job.refresh_from_db()
    assert not outcome.claimed
    assert (job.status, job.attempts, len(probe.RUNS)) == (JobStatus.PENDING, 1, 1)
    _time_passes(job)
    assert job_run(job_id=job.pk, schedule_retry=False).status == JobStatus.SUCCEEDED


def test_pauses_use_none_of_the_attempts(probe_kind):
    # The probe kind allows 3 attempts; 5 pauses in a row still end in success.
    job = create(params={"fail": "paused", "fail_times": 5, "retry_after": 60})
    for _ in range(5):
        assert job_run(job_id=job.pk, schedule_retry=False).status == JobStatus.PENDING
        _time_passes(job)
    assert job_run(job_id=job.pk, schedule_retry=False).status == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 6
    outcomes = list(job.attempt_records.values_list("outcome", flat=True))
    assert outcomes == ["retrying"] * 5 + ["succeeded"]


def test_other_failures_keep_their_full_attempt_budget_after_pauses(probe_kind, fast_retries):
    def pause_then_break(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        if ctx.attempt_number <= 2:
            return pause_probe_run(ctx, {**params, "fail": "paused", "fail_times": 2})
        return probe.probe_run(ctx, {**params, "fail": "transient", "fail_times": 99})

    kind = dataclasses.replace(PAUSE_PROBE, name="pause_then_break", run=pause_then_break)
    with registered(kind):
        job = create(kind="pause_then_break", params={"retry_after": 1})
        for _ in range(10):
            if job_run(job_id=job.pk, schedule_retry=False).status != JobStatus.PENDING:
                break
            _time_passes(job)
    job.refresh_from_db()
    # 2 pauses, then the kind's 3 attempts of transient failures.
    assert (job.status, job.attempts, job.error_code) == (JobStatus.FAILED, 5, "transient")


def test_pauses_are_capped(probe_kind, settings):
    settings.SYNC_PAUSE_LIMIT = 2
    job = create(params={"fail": "paused", "fail_times": 99, "retry_after": 60})
    for _ in range(2):
        assert job_run(job_id=job.pk, schedule_retry=False).status == JobStatus.PENDING
        _time_passes(job)
    outcome = job_run(job_id=job.pk, schedule_retry=False)
    assert (outcome.status, outcome.error_code) == (JobStatus.FAILED, "spotify_rate_limited")


def test_repeated_pauses_back_off_further(probe_kind, settings):
    settings.SYNC_RETRY_BASE_DELAY = 100
    settings.SYNC_RETRY_MAX_DELAY = 10_000
    job = create(params={"fail": "paused", "fail_times": 3, "retry_after": 5})
    delays = []
    for _ in range(3):
        delays.append(job_run(job_id=job.pk, schedule_retry=False).retry_in)
        _time_passes(job)
    assert delays[0] < 10  # the pause itself
    assert delays[1] >= 160 and delays[2] >= 320  # 429s right after a pause: back off


def test_pause_outcomes_are_in_the_metrics(probe_kind):
    metrics.metrics_store().clear()
    job = create(params={"fail": "paused", "fail_times": 1, "retry_after": 60})
    job_run(job_id=job.pk, schedule_retry=False)
    _time_passes(job)
    job_run(job_id=job.pk, schedule_retry=False)
    jobs = metrics.metrics_store().read()["encore_sync_jobs"]
    assert jobs == {'["probe","paused"]': 1.0, '["probe","succeeded"]': 1.0}


def spotify_tracks_run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """An enrichment-like kind: a batch of Spotify calls, then a checkpoint."""
    client = SpotifyClient.for_app(lane=Lane.ENRICHMENT)
    client.track(TRACK)
    ctx.add_spotify_calls(1)
    ctx.checkpoint(done=1, total=1)
    return {"done": 1}


def test_a_429_from_spotify_pauses_the_job_until_retry_after(caplog):
    # Given a kind that calls Spotify, and Spotify answering 429 with a quota reason
    kind = dataclasses.replace(probe.PROBE, name="spotify_probe", run=spotify_tracks_run)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, registered(kind):
        fake = FakeSpotify(rsps)
        fake.token(token_body(refresh=False, scope=None))
        fake.api(
            "GET",
            "/tracks/{id}",
            path=f"/tracks/{TRACK}",
            status=429,
            body=error_body(429, "Too many requests", "QUOTA_EXCEEDED"),
            headers={"Retry-After": "5400"},
        )
        job = create(kind="spotify_probe")
        before = timezone.now()
        # When the job runs
        with caplog.at_level(logging.WARNING):
            outcome = job_run(job_id=job.pk, schedule_retry=False)
    spotify_pause_clear()
    # Then it waits for the pause, without failing or using an attempt
    job.refresh_from_db()
    assert (outcome.status, job.status) == (JobStatus.PENDING, JobStatus.PENDING)
    assert job.next_attempt_at >= before + timedelta(seconds=5400)
    # and the 429 was logged as a warning with its Retry-After and reason
    spotify_logs = [r for r in caplog.records if r.name == "encore.spotify"]
    assert any(
        r.levelno == logging.WARNING
        and "5400" in r.getMessage()
        and "QUOTA_EXCEEDED" in r.getMessage()
        for r in spotify_logs
    )
