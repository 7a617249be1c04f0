"""Job commands: create, enqueue, retry and cancel a job.

- *Creation* relies on the partial unique constraint ``syncjob_one_active_per_kind_target``:
  two concurrent requests both try to insert; the loser's insert fails and it returns the
  winner's job. The task is enqueued only after the creating transaction commits.
- *Enqueue* sends the Celery message that makes a worker run the job (``sync.tasks``, which
  calls the runner: the one import loop of the app, the Celery idiom).
- *Cancel* ends a pending job at once and asks a running one to stop at its next checkpoint.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from core.shared_state import service_failed, service_recently_failed
from sync import conf
from sync.exceptions import InvalidJobParams, JobNotCancellable, JobNotRetryable
from sync.models import ACTIVE_STATUSES, JobStatus, JobTrigger, SyncJob, target_key_for
from sync.registry import JobKind, TargetPolicy, get_kind

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# A pending job whose message the broker did not take carries this error code until a later
# send succeeds (the reaper resends such jobs at its next run, without waiting).
NOT_ENQUEUED = "not_enqueued"
NOT_ENQUEUED_MESSAGE = (
    "The job broker (Redis) did not take this job's message; it is sent as soon as the broker "
    "answers again."
)
# One publish attempt and one quick retry: with the broker's short socket timeouts (settings)
# a hung or refused broker costs a request a few seconds, never gunicorn's 30 s timeout.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.2}  # fmt: skip
_PUBLISH_ERRORS = (BrokerUnavailable, RedisError, OSError)


@dataclass(frozen=True)
class JobRequest:
    """The answer to "start this job": the job, and whether it is new or was already active."""

    job: SyncJob
    created: bool

    @property
    def already_active(self) -> bool:
        return not self.created


def _check_target(kind: JobKind, target_user: User | None) -> None:
    if kind.target == TargetPolicy.NONE and target_user is not None:
        raise InvalidJobParams(f"target_user: {kind.name} works on shared data and takes no user.")
    if kind.target == TargetPolicy.REQUIRED and target_user is None:
        raise InvalidJobParams(f"target_user: {kind.name} needs a target user.")


def job_create(
    *,
    kind: str,
    params: Mapping[str, Any] | None,
    trigger: str,
    triggered_by: User | None = None,
    target_user: User | None = None,
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
            transaction.on_commit(functools.partial(job_enqueue, job_id=job.pk))
            if not transaction.get_connection().in_atomic_block:
                # Outside a transaction on_commit ran it now: with eager tasks the job has
                # already run, so answer with what it became, not the row as inserted.
                job.refresh_from_db()
        return JobRequest(job=job, created=True)
    raise IntegrityError(f"could not create or find an active {kind} job")


def job_enqueue(*, job_id: int, countdown: float | None = None) -> bool:
    """Send the job's message to the workers (or, with no broker, run it now); True if sent.

    A broker outage is logged, not raised: the job stays pending, flagged ``not_enqueued``
    (its ``error_code``, shown by the API and the console), and the reaper sends it again at
    its next run. After one failure a process does not try the broker again for a few seconds
    (``core.shared_state``), so a hung broker does not hold every request.
    """
    # Imported here: the task module imports the runner, which enqueues retries from here.
    from sync.tasks import sync_job_run_task

    if countdown and job_enqueue_is_eager():
        # No broker to hold the message for its countdown: wait here, or the retry would
        # hit the same transient failure at once.
        time.sleep(countdown)
        countdown = None
    # Options left out rather than passed as None: Celery then uses its defaults.
    options: dict[str, Any] = {}
    if countdown:
        options["countdown"] = countdown
    queue = conf.task_queue()
    if queue:
        options["queue"] = queue
    if service_recently_failed("broker"):
        _mark_not_enqueued(job_id, "skipped: the broker failed moments ago")
        return False
    try:
        sync_job_run_task.apply_async(
            (job_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY, **options
        )
    except _PUBLISH_ERRORS as exc:
        service_failed("broker", f"sending sync job {job_id}", exc)
        _mark_not_enqueued(job_id, type(exc).__name__)
        return False
    SyncJob.objects.filter(pk=job_id, error_code=NOT_ENQUEUED).update(
        error_code="", error_message=""
    )
    return True


def _mark_not_enqueued(job_id: int, why: str) -> None:
    logger.error("sync job %s: not enqueued (%s); the reaper will send it again", job_id, why)
    SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        error_code=NOT_ENQUEUED, error_message=NOT_ENQUEUED_MESSAGE
    )


def job_is_unsent(job: SyncJob) -> bool:
    """A pending job whose message has not reached the broker yet."""
    return job.status == JobStatus.PENDING and job.error_code == NOT_ENQUEUED


def job_enqueue_is_eager() -> bool:
    """True when tasks run in the caller's process (no broker): nothing can wait for later."""
    from sync.tasks import sync_job_run_task

    return bool(sync_job_run_task.app.conf.task_always_eager)


def job_retry(*, job: SyncJob, trigger: str, triggered_by: User | None = None) -> JobRequest:
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
