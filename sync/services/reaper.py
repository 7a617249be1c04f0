"""The reaper: end jobs whose worker was lost, and resend the messages of jobs stuck pending.

A running job whose heartbeat is older than ``SYNC_HEARTBEAT_TIMEOUT`` is failed ("worker
lost"); repeatable kinds are queued again as a new job linked to the lost one. Every change is
conditional, so the reaper is safe to run concurrently with itself and with workers, and a
worker that comes back after being declared lost cannot overwrite the verdict (its writes are
guarded by its attempt number, see ``sync.services.context``).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import metrics
from sync import conf
from sync.exceptions import InvalidJobParams, UnknownJobKind
from sync.models import AttemptOutcome, JobStatus, JobTrigger, SyncJob, SyncJobAttempt
from sync.registry import get_kind
from sync.services.jobs import NOT_ENQUEUED, job_create, job_enqueue

logger = logging.getLogger(__name__)

WORKER_LOST = "worker_lost"


@dataclass(frozen=True)
class ReapReport:
    lost: list[int]
    requeued: list[int]
    resent: list[int]


def _lost_in_a_row(job: SyncJob) -> int:
    """How many jobs up the ``retry_of`` chain, this one included, ended with a lost worker."""
    count = 0
    current: SyncJob | None = job
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
    - A pending job overdue by ``SYNC_PENDING_RESEND_AFTER`` (its message was lost) has its
      message sent again, and one flagged ``not_enqueued`` (the broker refused it) at once;
      the claim makes a duplicate harmless.

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
            open_attempts = SyncJobAttempt.objects.filter(job=job, outcome=AttemptOutcome.RUNNING)
            started = list(open_attempts.values_list("started_at", flat=True))
            open_attempts.update(
                outcome=AttemptOutcome.LOST,
                finished_at=now,
                error_code=WORKER_LOST,
                error_message=job.error_message,
            )
            for started_at in started:  # the runner that would have counted it is gone
                seconds = max(0.0, (now - started_at).total_seconds())
                metrics.record_job(kind=job.kind, outcome=AttemptOutcome.LOST, seconds=seconds)
            lost.append(job.pk)
            logger.warning("sync job %s (%s): worker lost", job.pk, job.kind)
            if cancelled:
                continue
            new_id = _requeue_lost(job)
            if new_id is not None:
                requeued.append(new_id)

    resend_cutoff = now - conf.pending_resend_after()
    # A job flagged not_enqueued (the broker refused it) is sent at once, not a window later.
    overdue = SyncJob.objects.filter(status=JobStatus.PENDING).filter(
        Q(next_attempt_at__isnull=True, created_at__lt=resend_cutoff)
        | Q(next_attempt_at__lt=resend_cutoff)
        | Q(error_code=NOT_ENQUEUED, next_attempt_at__isnull=True)
        | Q(error_code=NOT_ENQUEUED, next_attempt_at__lte=now)
    )
    resent: list[int] = []
    for job_id in overdue.values_list("pk", flat=True):
        # Moving next_attempt_at means the next resend is one full window later, not at every
        # reaper run while a long queue drains.
        if SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(next_attempt_at=now):
            resent.append(job_id)
            transaction.on_commit(functools.partial(job_enqueue, job_id=job_id))
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
