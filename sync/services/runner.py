"""The runner: claim a job, run its kind, finish it or schedule a retry with backoff.

- *Claim*: ``UPDATE … SET status='running' WHERE id=… AND status='pending'``; only the caller
  that changed one row runs the job (healthchecks' ``sendalerts`` pattern). A duplicated or
  redelivered message therefore never runs a job twice.
- *Finish* (and the release for a retry) is guarded by ``status='running'`` and
  ``attempts=<this attempt>`` (see ``sync.services.context``), so a worker that was declared
  lost cannot overwrite the reaper's verdict later.
- *Retry*: a transient failure with attempts left puts the job back to pending with an
  exponential, jittered backoff, and every attempt is recorded as a ``SyncJobAttempt``.
- *Pause*: a rate limit (a Spotify 429 pauses every process until its Retry-After, which can
  be hours) is not the job's failure. The job goes back to pending until the pause ends (and
  further when pauses repeat), using none of its attempts; ``SYNC_PAUSE_LIMIT`` caps the
  pauses instead. A message that arrives before the job is due (Celery countdowns are capped
  below the broker's visibility timeout) claims nothing and is sent again for the rest.
- Each attempt's end is counted in the metrics (kind, outcome, duration).
"""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import metrics
from sync import conf
from sync.exceptions import (
    JobFailed,
    UnknownJobKind,
    error_code_for,
    is_pause,
    is_transient,
    pause_codes,
)
from sync.models import AttemptOutcome, JobStatus, SyncJob, SyncJobAttempt
from sync.registry import get_kind
from sync.services.context import MESSAGE_MAX, JobContext, ProgressListener
from sync.services.heartbeat import heartbeat_running
from sync.services.jobs import job_enqueue, job_enqueue_is_eager

logger = logging.getLogger(__name__)

# A message may run its job this much before the job's next_attempt_at (clock skew between
# workers, Celery's timing); never more, so a paused job does not run into its pause again.
EARLY_CLAIM_SECONDS = 1.0


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended: the job's status afterwards, and the backoff if a retry is due."""

    job_id: int
    claimed: bool
    status: str | None = None
    retry_in: float | None = None
    error_code: str = ""
    error_message: str = ""
    result: dict[str, Any] = field(default_factory=dict)


def job_claim(
    *, job_id: int, task_id: str = "", worker: str = ""
) -> tuple[SyncJob, SyncJobAttempt] | None:
    """Move a pending job to running and open its attempt record, in one transaction.

    ``None`` if the job is not pending (another worker has it, or it was cancelled): the
    conditional UPDATE lets exactly one caller win. A job whose ``next_attempt_at`` is still
    ahead (more than ``EARLY_CLAIM_SECONDS``) is not claimed either: it waits out a pause.
    """
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(
        next_attempt_at__lte=now + timedelta(seconds=EARLY_CLAIM_SECONDS)
    )
    with transaction.atomic():
        claimed = SyncJob.objects.filter(due, pk=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            celery_task_id=task_id[:255],
            next_attempt_at=None,
        )
        if not claimed:
            return None
        job = SyncJob.objects.get(pk=job_id)
        attempt = SyncJobAttempt.objects.create(
            job=job,
            number=job.attempts,
            started_at=now,
            celery_task_id=task_id[:255],
            worker=worker[:255],
        )
    return job, attempt


def retry_delay(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter for the wait after ``attempt`` failed, capped."""
    base, cap = conf.retry_base_delay(), conf.retry_max_delay()
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    # Jitter spreads retries of jobs that failed together (one outage) over time.
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return min(delay, cap)


def pause_delay(*, pause_number: int, retry_after: float) -> float:
    """The wait before a job paused for the ``pause_number``-th time goes on: the whole pause
    (never capped: ``next_attempt_at`` lands after it ends), longer when pauses repeat (an app
    can keep getting 429s right after a pause), plus a second of jitter."""
    delay = float(retry_after)
    if pause_number > 1:
        delay = max(delay, retry_delay(attempt=pause_number))
    return delay + random.uniform(0, 1)


def _send_when_due(job_id: int) -> None:
    """A message arrived before its job is due (the job waits out a pause): send it again for
    the rest of the wait, in countdowns the broker holds safely. Eagerly run tasks cannot
    wait; the job then stays pending for the reaper's resend."""
    due_at = (
        SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due_at is None:
        logger.info("sync job %s: not pending, message ignored", job_id)
        return
    remaining = (due_at - timezone.now()).total_seconds()
    if job_enqueue_is_eager():
        logger.info("sync job %s: not due for %.0f s; left pending", job_id, remaining)
        return
    job_enqueue(job_id=job_id, countdown=max(1.0, min(remaining, conf.retry_max_delay())))


def job_run(
    *,
    job_id: int,
    task_id: str = "",
    worker: str = "",
    listener: ProgressListener | None = None,
    schedule_retry: bool = True,
) -> RunOutcome:
    """Claim and run one attempt of a job, recording the attempt and the outcome.

    Does nothing (``claimed=False``) unless the job was pending. Success, cancellation and
    permanent failures end the job. A transient failure with attempts left puts the job back
    to pending with ``next_attempt_at`` and, if ``schedule_retry``, enqueues it with that
    countdown; otherwise the caller (``sync_run``) waits ``retry_in`` and runs it again.
    Exceptions that are not ``Exception`` (a worker shutting down) propagate and leave the
    job running: the reaper deals with it.
    """
    claim = job_claim(job_id=job_id, task_id=task_id, worker=worker)
    if claim is None:
        _send_when_due(job_id)
        return RunOutcome(job_id=job_id, claimed=False)
    job, attempt = claim
    ctx = JobContext(job=job, attempt=attempt, listener=listener)
    try:
        kind = get_kind(job.kind)
        with heartbeat_running(job_id=job.pk, attempt_number=attempt.number):
            result = kind.run(ctx, dict(job.params)) or {}
    except Exception as exc:
        return _attempt_failed(job=job, attempt=attempt, ctx=ctx, exc=exc, schedule=schedule_retry)
    except KeyboardInterrupt:
        # Ctrl-C on ``sync_run``: end the job now rather than leave it to the reaper, which
        # would keep the kind blocked until the heartbeat times out.
        _end(
            ctx,
            attempt,
            status=JobStatus.CANCELLED,
            outcome=AttemptOutcome.CANCELLED,
            code="interrupted",
            message="Interrupted while running in the foreground; finished batches are kept.",
        )
        raise

    if ctx.stop_reason == "lost":
        _attempt_end(attempt, AttemptOutcome.LOST)
        return RunOutcome(job_id=job_id, claimed=True, status=None)
    if ctx.stop_reason == "cancelled":
        status, outcome = JobStatus.CANCELLED, AttemptOutcome.CANCELLED
    else:
        status, outcome = JobStatus.SUCCEEDED, AttemptOutcome.SUCCEEDED
    if not _end(ctx, attempt, status=status, outcome=outcome, result=result):
        return RunOutcome(job_id=job_id, claimed=True, status=None)
    return RunOutcome(job_id=job_id, claimed=True, status=status, result=result)


def _end(
    ctx: JobContext,
    attempt: SyncJobAttempt,
    *,
    status: str,
    outcome: str,
    result: dict[str, Any] | None = None,
    code: str = "",
    message: str = "",
) -> bool:
    """Write the job's final state and close its attempt in one transaction.

    ``False`` (and the attempt marked lost) if the job was no longer this attempt's to finish.
    """
    with transaction.atomic():
        finished = ctx.finish(status=status, result=result, error_code=code, error_message=message)
        _attempt_end(
            attempt,
            outcome if finished else AttemptOutcome.LOST,
            error_code=code,
            error_message=message,
        )
    return finished


def _attempt_end(
    attempt: SyncJobAttempt,
    outcome: str,
    *,
    error_code: str = "",
    error_message: str = "",
    retry_in: float | None = None,
    metric_outcome: str | None = None,
    progressed: bool = False,
) -> None:
    now = timezone.now()
    SyncJobAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome,
        finished_at=now,
        error_code=error_code,
        error_message=error_message[:MESSAGE_MAX],
        retry_in_seconds=retry_in,
        progressed=progressed,
    )
    metrics.record_job(
        kind=attempt.job.kind,
        outcome=metric_outcome or outcome,
        seconds=max(0.0, (now - attempt.started_at).total_seconds()),
    )


def _attempt_failed(
    *, job: SyncJob, attempt: SyncJobAttempt, ctx: JobContext, exc: Exception, schedule: bool
) -> RunOutcome:
    code = error_code_for(exc)
    message = str(exc) or type(exc).__name__
    if is_transient(exc) and not connection.in_atomic_block:
        # A lost database connection must be replaced before we can record anything.
        close_old_connections()
    kind_max = 1  # a kind that was removed since the job started is not retried
    with contextlib.suppress(UnknownJobKind):
        kind_max = get_kind(job.kind).max_attempts
    retry, delay, paused = False, 0.0, is_pause(exc)
    progressed = False
    if is_transient(exc):
        # Pauses are not failed attempts: only the others count against the kind's maximum.
        retried = SyncJobAttempt.objects.filter(job_id=job.pk, outcome=AttemptOutcome.RETRYING)
        pauses = retried.filter(error_code__in=pause_codes()).count()
        if paused:
            retry = pauses < conf.pause_limit()
            delay = pause_delay(pause_number=pauses + 1, retry_after=getattr(exc, "retry_after", 1))
        else:
            # Nor are transient failures after the attempt committed progress: a long job on
            # a flaky Spotify goes on from where it got to (SYNC_PROGRESS_RETRY_LIMIT caps them).
            progressed = ctx.checkpoints > 0
            progressing = int(progressed) + (
                retried.filter(progressed=True).exclude(error_code__in=pause_codes()).count()
            )
            failures = attempt.number - pauses - progressing
            retry = failures < kind_max and progressing <= conf.progress_retry_limit()
            delay = retry_delay(
                attempt=max(1, failures), retry_after=getattr(exc, "retry_after", None)
            )
    if retry:
        with transaction.atomic():
            ours = ctx.release_for_retry(
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                error_code=code,
                error_message=message,
            )
            _attempt_end(
                attempt,
                AttemptOutcome.RETRYING if ours else AttemptOutcome.LOST,
                error_code=code,
                error_message=message,
                retry_in=delay if ours else None,
                metric_outcome="paused" if paused and ours else None,
                progressed=progressed,
            )
        if not ours:
            return RunOutcome(job_id=job.pk, claimed=True, status=None)
        if paused:
            logger.warning(
                "sync job %s: %s (%s); paused, goes on in %.1f s (not a failed attempt)",
                job.pk,
                code,
                message,
                delay,
            )
        else:
            logger.warning("sync job %s: %s (%s); retry in %.1f s", job.pk, code, message, delay)
        # The broker holds a countdown safely only below its visibility timeout; a longer
        # pause arrives early and is sent on by _send_when_due. Without a broker (eager) the
        # countdown would be slept here, in the caller's request, only for the message to
        # arrive early and be dropped: the job is left pending for the reaper instead.
        countdown = min(delay, conf.retry_max_delay())
        if schedule and not (countdown < delay and job_enqueue_is_eager()):
            transaction.on_commit(lambda: job_enqueue(job_id=job.pk, countdown=countdown))
        return RunOutcome(
            job_id=job.pk,
            claimed=True,
            status=JobStatus.PENDING,
            retry_in=delay,
            error_code=code,
            error_message=message,
        )
    if code == "internal_error":
        logger.exception("sync job %s crashed", job.pk, exc_info=exc)
    failed = _end(
        ctx,
        attempt,
        status=JobStatus.FAILED,
        outcome=AttemptOutcome.FAILED,
        result=getattr(exc, "result", None) if isinstance(exc, JobFailed) else None,
        code=code,
        message=message,
    )
    return RunOutcome(
        job_id=job.pk,
        claimed=True,
        status=JobStatus.FAILED if failed else None,
        error_code=code,
        error_message=message,
    )
