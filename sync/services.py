"""Writes of the job framework: create, claim, run, checkpoint, finish, cancel, retry, reap.

Concurrency contract (the reasons behind the shapes of the queries below):

- *Creation* relies on the partial unique constraint ``syncjob_one_active_per_kind_target``:
  two concurrent requests both try to insert; the loser's insert fails and it returns the
  winner's job. The task is enqueued only after the creating transaction commits.
- *Claim*: ``UPDATE … SET status='running' WHERE id=… AND status='pending'``; only the caller
  that changed one row runs the job (healthchecks' ``sendalerts`` pattern). A duplicated or
  redelivered message therefore never runs a job twice.
- *Checkpoints* write progress and heartbeat in one UPDATE guarded by ``status='running'``,
  ``attempts=<this attempt>`` and "no cancel requested"; when it changes no row the job was
  cancelled or taken away (reaped), and the kind stops at this batch boundary.
- *Finish* is guarded the same way, so a worker that was declared lost cannot overwrite the
  reaper's verdict later.
- *Reaper*: a running job whose heartbeat is older than ``SYNC_HEARTBEAT_TIMEOUT`` is failed
  ("worker lost"); repeatable kinds are queued again as a new job linked to the lost one.
"""

from __future__ import annotations

import contextlib
import logging
import random
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import get_valid_filename
from kombu.exceptions import OperationalError as BrokerUnavailable

from sync import conf
from sync.exceptions import (
    InvalidJobParams,
    JobFailed,
    JobNotCancellable,
    JobNotRetryable,
    UnknownJobKind,
    error_code_for,
    is_transient,
)
from sync.models import (
    ACTIVE_STATUSES,
    AttemptOutcome,
    JobStatus,
    JobTrigger,
    SyncJob,
    SyncJobAttempt,
    target_key_for,
)
from sync.registry import JobKind, TargetPolicy, get_kind

logger = logging.getLogger(__name__)

_MESSAGE_MAX = 2000
WORKER_LOST = "worker_lost"


@dataclass(frozen=True)
class JobRequest:
    """The answer to "start this job": the job, and whether it is new or was already active."""

    job: SyncJob
    created: bool

    @property
    def already_active(self) -> bool:
        return not self.created


@dataclass(frozen=True)
class ProgressSnapshot:
    job_id: int
    done: int
    total: int | None
    failed: int


ProgressListener = Callable[[ProgressSnapshot], None]


# --- Creating jobs ------------------------------------------------------------------------------
def _check_target(kind: JobKind, target_user: AbstractBaseUser | None) -> None:
    if kind.target == TargetPolicy.NONE and target_user is not None:
        raise InvalidJobParams(f"target_user: {kind.name} works on shared data and takes no user.")
    if kind.target == TargetPolicy.REQUIRED and target_user is None:
        raise InvalidJobParams(f"target_user: {kind.name} needs a target user.")


def job_create(
    *,
    kind: str,
    params: Mapping[str, Any] | None,
    trigger: str,
    triggered_by: AbstractBaseUser | None = None,
    target_user: AbstractBaseUser | None = None,
    retry_of: SyncJob | None = None,
    enqueue: bool = True,
) -> JobRequest:
    """Create a pending job and enqueue it once the transaction commits.

    Raises ``UnknownJobKind`` / ``InvalidJobParams`` (400s naming the problem) before anything
    is written. If a job of this kind and target is already pending or running, returns that
    job with ``created=False`` instead of a new one (enforced by the database, so concurrent
    callers agree). ``enqueue=False`` leaves the job for the caller to run (``sync_run``).
    """
    job_kind = get_kind(kind)
    if trigger not in JobTrigger.values:
        raise InvalidJobParams(f"trigger: unknown trigger {trigger!r}.")
    _check_target(job_kind, target_user)
    clean = job_kind.clean_params(params)
    target_id = target_user.pk if target_user is not None else None
    key = target_key_for(target_id)
    for _ in range(3):
        active = SyncJob.objects.filter(
            kind=job_kind.name, target_key=key, status__in=ACTIVE_STATUSES
        ).first()
        if active is not None:
            return JobRequest(job=active, created=False)
        try:
            # A savepoint, so losing the race does not break the caller's transaction.
            with transaction.atomic():
                job = SyncJob.objects.create(
                    kind=job_kind.name,
                    trigger=trigger,
                    triggered_by=triggered_by,
                    target_user_id=target_id,
                    target_key=key,
                    params=clean,
                    retry_of=retry_of,
                )
        except IntegrityError:
            # Another request inserted the active job first; its row is visible to the next
            # statement (READ COMMITTED), so look again.
            continue
        if enqueue:
            transaction.on_commit(lambda job_id=job.pk: job_enqueue(job_id=job_id))
        return JobRequest(job=job, created=True)
    raise IntegrityError(f"could not create or find an active {kind} job")


def job_enqueue(*, job_id: int, countdown: float | None = None) -> None:
    """Send the job's message to the workers (or, with no broker, run it now).

    A broker outage is logged, not raised: the job stays pending and the reaper sends its
    message again later, so the caller's request still succeeds.
    """
    from sync.tasks import sync_job_run_task

    if countdown and sync_job_run_task.app.conf.task_always_eager:
        # No broker to hold the message for its countdown: wait here, or the retry would
        # hit the same transient failure at once.
        time.sleep(countdown)
        countdown = None
    try:
        sync_job_run_task.apply_async(
            args=[job_id], countdown=countdown or None, queue=conf.task_queue()
        )
    except BrokerUnavailable:
        logger.exception("sync job %s: broker unavailable; the reaper will resend it", job_id)


def job_retry(
    *, job: SyncJob, trigger: str, triggered_by: AbstractBaseUser | None = None
) -> JobRequest:
    """Start a failed or cancelled job again as a new job linked to it (``retry_of``).

    Raises ``JobNotRetryable`` (409) for a job in any other state. Parameters are validated
    again, since what they refer to (a file) may have gone.
    """
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise JobNotRetryable(
            f"Job #{job.pk} is {job.status}; only a failed or cancelled job can be retried."
        )
    return job_create(
        kind=job.kind,
        params=job.params,
        trigger=trigger,
        triggered_by=triggered_by,
        target_user=job.target_user,
        retry_of=job,
    )


def job_cancel(*, job: SyncJob) -> SyncJob:
    """Cancel a job: a pending one at once, a running one at its next batch boundary.

    A running job keeps the batches it finished; its status turns ``cancelled`` when the
    worker reaches the boundary (``cancel_requested_at`` is set meanwhile). Asking again, or
    for a job already cancelled, is harmless. Raises ``JobNotCancellable`` (409) for a job that
    succeeded or failed.
    """
    now = timezone.now()
    if SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, finished_at=now, cancel_requested_at=now, next_attempt_at=None
    ):
        job.refresh_from_db()
        return job
    # Not pending (any more): if running, ask the worker to stop at its next batch boundary.
    SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        cancel_requested_at=Coalesce(F("cancel_requested_at"), Value(now))
    )
    job.refresh_from_db()
    if job.status in (JobStatus.RUNNING, JobStatus.CANCELLED):
        return job
    raise JobNotCancellable(f"Job #{job.pk} has already finished ({job.status}).")


# --- Running jobs -------------------------------------------------------------------------------
class JobContext:
    """What a kind's function receives: its job's identity and the way to report progress.

    Progress is kept in memory and written by ``checkpoint`` (one UPDATE per batch, with the
    heartbeat), never per item.
    """

    def __init__(
        self, *, job: SyncJob, attempt: SyncJobAttempt, listener: ProgressListener | None = None
    ) -> None:
        self.job_id: int = job.pk
        self.kind: str = job.kind
        self.params: dict[str, Any] = dict(job.params)
        self.target_user_id: int | None = job.target_user_id
        self.attempt_number: int = attempt.number
        self.total: int | None = job.progress_total
        self.done: int = job.progress_done
        self.failed: int = job.progress_failed
        self.stop_reason: str | None = None  # "cancelled" or "lost" once checkpoint said stop
        self._unsaved_spotify_calls = 0
        self._listener = listener

    def count_spotify_calls(self, n: int = 1) -> None:
        """Add Spotify API calls made; written with the next checkpoint."""
        self._unsaved_spotify_calls += n

    def report(
        self, *, done: int | None = None, total: int | None = None, failed: int | None = None
    ) -> None:
        """Update progress in memory only (written by the next checkpoint or at the finish)."""
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if failed is not None:
            self.failed = failed

    def _progress_fields(self, now: datetime) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "progress_done": self.done,
            "progress_total": self.total,
            "progress_failed": self.failed,
            "heartbeat_at": now,
        }
        if self._unsaved_spotify_calls:
            fields["spotify_calls"] = F("spotify_calls") + self._unsaved_spotify_calls
        return fields

    def _ours(self) -> QuerySet[SyncJob]:
        """The job's row, only while it is running under this attempt."""
        return SyncJob.objects.filter(
            pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt_number
        )

    def checkpoint(
        self, *, done: int | None = None, total: int | None = None, failed: int | None = None
    ) -> bool:
        """Record progress and the heartbeat after a batch; ``False`` means stop now.

        One UPDATE when the job goes on. ``False`` when an operator asked to cancel (the
        progress of the batch just finished is still written: the job keeps it) or when the job
        is no longer this attempt's to run (reaped as lost).
        """
        self.report(done=done, total=total, failed=failed)
        if self.stop_reason:
            return False
        now = timezone.now()
        fields = self._progress_fields(now)
        if self._ours().filter(cancel_requested_at__isnull=True).update(**fields):
            self._unsaved_spotify_calls = 0
            self._notify()
            return True
        if self._ours().update(**fields):
            self._unsaved_spotify_calls = 0
            self.stop_reason = "cancelled"
            self._notify()
        else:
            self.stop_reason = "lost"
        return False

    def _notify(self) -> None:
        if self._listener is not None:
            self._listener(
                ProgressSnapshot(
                    job_id=self.job_id, done=self.done, total=self.total, failed=self.failed
                )
            )

    def finish(
        self,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        error_code: str = "",
        error_message: str = "",
    ) -> bool:
        """Write the final state if the job is still this attempt's; ``False`` if it was not."""
        now = timezone.now()
        fields = self._progress_fields(now)
        fields.update(
            status=status,
            finished_at=now,
            error_code=error_code,
            error_message=error_message[:_MESSAGE_MAX],
            next_attempt_at=None,
        )
        if result is not None:
            fields["result"] = result
        return bool(self._ours().update(**fields))


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
    conditional UPDATE lets exactly one caller win.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
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
        logger.info("sync job %s: not pending, message ignored", job_id)
        return RunOutcome(job_id=job_id, claimed=False)
    job, attempt = claim
    ctx = JobContext(job=job, attempt=attempt, listener=listener)
    try:
        kind = get_kind(job.kind)
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
) -> None:
    SyncJobAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome,
        finished_at=timezone.now(),
        error_code=error_code,
        error_message=error_message[:_MESSAGE_MAX],
        retry_in_seconds=retry_in,
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
    if is_transient(exc) and attempt.number < kind_max:
        delay = retry_delay(attempt=attempt.number, retry_after=getattr(exc, "retry_after", None))
        fields = ctx._progress_fields(timezone.now())
        fields.update(
            status=JobStatus.PENDING,
            heartbeat_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            error_code=code,
            error_message=message[:_MESSAGE_MAX],
        )
        with transaction.atomic():
            ours = bool(ctx._ours().update(**fields))
            _attempt_end(
                attempt,
                AttemptOutcome.RETRYING if ours else AttemptOutcome.LOST,
                error_code=code,
                error_message=message,
                retry_in=delay if ours else None,
            )
        if not ours:
            return RunOutcome(job_id=job.pk, claimed=True, status=None)
        logger.warning("sync job %s: %s (%s); retry in %.1f s", job.pk, code, message, delay)
        if schedule:
            transaction.on_commit(lambda: job_enqueue(job_id=job.pk, countdown=delay))
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


# --- The reaper ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReapReport:
    lost: list[int]
    requeued: list[int]
    resent: list[int]


def _lost_in_a_row(job: SyncJob) -> int:
    """How many jobs up the ``retry_of`` chain, this one included, ended with a lost worker."""
    count, current = 0, job
    while current is not None and current.error_code == WORKER_LOST:
        count += 1
        current = current.retry_of
    return count


def jobs_reap_stale(*, now: datetime | None = None) -> ReapReport:
    """End running jobs whose heartbeat stopped; re-queue repeatable ones; resend lost messages.

    - A running job with a heartbeat older than ``SYNC_HEARTBEAT_TIMEOUT`` is failed with
      ``worker_lost`` (or cancelled, if cancel had been asked). If its kind is repeatable and
      it has not been lost ``SYNC_REQUEUE_LIMIT`` times in a row, a new job linked to it
      (``retry_of``) is queued.
    - A pending job overdue by ``SYNC_PENDING_RESEND_AFTER`` (its message was lost, e.g. the
      broker was down at enqueue time) has its message sent again; the claim makes a
      duplicate harmless.

    Safe to run concurrently with itself and with workers: every change is conditional.
    """
    now = now or timezone.now()
    cutoff = now - conf.heartbeat_timeout()
    lost: list[int] = []
    requeued: list[int] = []
    stale_ids = list(
        SyncJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for job_id in stale_ids:
        with transaction.atomic():
            job = (
                SyncJob.objects.select_for_update()
                .filter(pk=job_id, status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
                .first()
            )
            if job is None:
                continue  # it beat again, or another reaper got it
            cancelled = job.cancel_requested_at is not None
            job.status = JobStatus.CANCELLED if cancelled else JobStatus.FAILED
            job.finished_at = now
            job.error_code = WORKER_LOST
            job.error_message = (
                f"Worker lost: no heartbeat since {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC."
            )
            job.save(update_fields=["status", "finished_at", "error_code", "error_message"])
            SyncJobAttempt.objects.filter(job=job, outcome=AttemptOutcome.RUNNING).update(
                outcome=AttemptOutcome.LOST,
                finished_at=now,
                error_code=WORKER_LOST,
                error_message=job.error_message,
            )
            lost.append(job.pk)
            logger.warning("sync job %s (%s): worker lost", job.pk, job.kind)
            if cancelled:
                continue
            new_id = _requeue_lost(job)
            if new_id is not None:
                requeued.append(new_id)

    resend_cutoff = now - conf.pending_resend_after()
    overdue = SyncJob.objects.filter(status=JobStatus.PENDING).filter(
        Q(next_attempt_at__isnull=True, created_at__lt=resend_cutoff)
        | Q(next_attempt_at__lt=resend_cutoff)
    )
    resent: list[int] = []
    for job_id in overdue.values_list("pk", flat=True):
        # Moving next_attempt_at means the next resend is one full window later, not at every
        # reaper run while a long queue drains.
        if SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(next_attempt_at=now):
            resent.append(job_id)
            transaction.on_commit(lambda job_id=job_id: job_enqueue(job_id=job_id))
    return ReapReport(lost=lost, requeued=requeued, resent=resent)


def _requeue_lost(job: SyncJob) -> int | None:
    try:
        kind = get_kind(job.kind)
    except UnknownJobKind:
        return None
    if not kind.repeatable or _lost_in_a_row(job) > conf.requeue_limit():
        return None
    try:
        request = job_create(
            kind=job.kind,
            params=job.params,
            trigger=JobTrigger.SCHEDULE,
            target_user=job.target_user,
            retry_of=job,
        )
    except InvalidJobParams as exc:
        logger.warning("sync job %s: not re-queued: %s", job.pk, exc.message)
        return None
    return request.job.pk if request.created else None


# --- Import files -------------------------------------------------------------------------------
def import_file_store(*, upload: UploadedFile) -> str:
    """Save an uploaded import file into the import folder; returns its name there.

    The name keeps the original extension (the import service guesses the format from it)
    behind a random prefix, so two uploads of ``songs.csv`` never overwrite each other.
    """
    name = f"{uuid.uuid4().hex[:12]}_{get_valid_filename(Path(upload.name or 'upload').name)}"
    target = conf.import_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return name


def import_file_stage(*, source: Path) -> str:
    """Copy a local file into the import folder (for ``sync_run``); returns its name there."""
    name = f"{uuid.uuid4().hex[:12]}_{get_valid_filename(source.name)}"
    target = conf.import_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return name


def import_files_purge(*, now: datetime | None = None) -> list[str]:
    """Delete the import folder's files that are past their retention and not in use.

    A file stays while a pending or running job names it, and for
    ``SYNC_IMPORT_FILE_RETENTION_DAYS`` after it was last written, so a failed import can be
    retried. Returns the names deleted; a file that vanished meanwhile is not an error.
    """
    root = conf.import_dir()
    if not root.is_dir():
        return []
    cutoff = ((now or timezone.now()) - conf.import_file_retention()).timestamp()
    in_use = {
        params.get("path")
        for params in SyncJob.objects.filter(status__in=ACTIVE_STATUSES).values_list(
            "params", flat=True
        )
        if isinstance(params, dict)
    }
    deleted = []
    for path in sorted(root.iterdir()):
        try:
            if not path.is_file() or path.name in in_use or path.stat().st_mtime >= cutoff:
                continue
            # A job (a retry, say) may have named the file since the list above was read.
            active = SyncJob.objects.filter(status__in=ACTIVE_STATUSES, params__path=path.name)
            if active.exists():
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        deleted.append(path.name)
    return deleted
