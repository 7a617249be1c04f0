"""Celery tasks: thin wrappers that take ids and call the services of ``sync/services/``.

This module and ``sync.services.jobs`` import each other, and that is the one import loop the
app keeps on purpose: the Celery idiom. A service enqueues a task (``job_enqueue`` sends
``sync_job_run_task``, imported inside the function) and the task calls the runner
(``sync.services.runner.job_run``), which enqueues the next attempt of a retried job the same
way. Whether a broker is configured is asked through ``sync.services.jobs``
(``job_enqueue_is_eager``); nothing else in ``sync`` imports this module.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import close_old_connections

from spotify_integration.client import spotify_configured
from sync.kinds_enrichment import scheduled_params
from sync.models import JobTrigger
from sync.services.import_files import import_files_purge
from sync.services.jobs import job_create
from sync.services.reaper import jobs_reap_stale
from sync.services.runner import job_run

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="sync.run_job",
    # The job is claimed atomically, so running this task twice is harmless: acknowledge
    # after the run, and have the message redelivered when the worker process dies, instead
    # of losing it. (A redelivered message finds the job running and does nothing; the
    # reaper ends the job when its heartbeat stops.)
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def sync_job_run_task(self: Task, job_id: int) -> None:
    """Run one attempt of ``SyncJob`` ``job_id`` (no-op unless it is pending)."""
    if not self.request.is_eager:
        # What Django does at the start of every request: drop a connection that is broken or
        # older than CONN_MAX_AGE, and health-check the kept one (CONN_HEALTH_CHECKS). Workers
        # keep their connection between tasks (CELERY_DB_REUSE_MAX), so this runs here.
        close_old_connections()
    job_run(
        job_id=int(job_id),
        task_id=self.request.id or "",
        worker=self.request.hostname or "",
    )


@shared_task(name="sync.reap_stale_jobs", ignore_result=True)
def sync_jobs_reap_task() -> dict[str, list[int]]:
    """Periodic (``setup_periodic_tasks``): end jobs whose worker was lost, resend stuck ones."""
    report = jobs_reap_stale()
    if report.lost or report.resent:
        logger.warning(
            "sync reaper: lost %s, re-queued %s, resent %s",
            report.lost,
            report.requeued,
            report.resent,
        )
    return {"lost": report.lost, "requeued": report.requeued, "resent": report.resent}


@shared_task(name="sync.purge_import_files", ignore_result=True)
def sync_import_files_purge_task() -> list[str]:
    """Periodic (``setup_periodic_tasks``): delete import files past their retention."""
    deleted = import_files_purge()
    if deleted:
        logger.info("sync: deleted %s old import files", len(deleted))
    return deleted


@shared_task(name="sync.start_enrichment_job", ignore_result=True)
def sync_enrichment_job_start_task(kind: str) -> int | None:
    """Periodic (``setup_periodic_tasks``): start a scheduled enrichment job of ``kind`` with
    its scheduled selection (``sync.kinds_enrichment.scheduled_params``, read from the settings
    now). Nothing when Spotify is not configured; the active job when one is running."""
    if not spotify_configured():
        logger.info("sync: %s not started, Spotify is not configured", kind)
        return None
    request = job_create(kind=kind, params=scheduled_params(kind), trigger=JobTrigger.SCHEDULE)
    if request.already_active:
        logger.info("sync: %s already active as job %s", kind, request.job.pk)
    return request.job.pk
