"""Running a job in the foreground of a command: a progress bar, transient errors waited out.

``sync_run`` and the enrichment commands (``spotify_match``, ``spotify_refresh``,
``spotify_audio_features``) start jobs through ``job_create`` like every other trigger; this
runs one here instead of on a worker, so the job, its attempts and its result are recorded
the same way.
"""

from __future__ import annotations

import socket
import sys
import time
from typing import Any

from django.core.management.base import CommandError, OutputWrapper
from tqdm import tqdm

from core.exceptions import ApplicationError
from sync.models import JobTrigger, SyncJob
from sync.services.context import ProgressSnapshot
from sync.services.jobs import JobRequest, job_create, job_enqueue_is_eager
from sync.services.runner import job_run


def job_start(*, kind: str, params: dict[str, Any], enqueue: bool, target_user: Any = None):
    """``job_create`` for a command, its errors as ``CommandError``."""
    try:
        return job_create(
            kind=kind,
            params=params,
            trigger=JobTrigger.COMMAND,
            target_user=target_user,
            enqueue=enqueue,
        )
    except ApplicationError as exc:
        raise CommandError(exc.message) from exc


def job_report_started(
    request: JobRequest, *, enqueue: bool, stdout: OutputWrapper, stderr: OutputWrapper
) -> bool:
    """Say what happened to a job that will not run here; ``True`` if the caller is done."""
    job = request.job
    if not request.created:
        stderr.write(
            f"A {job.kind} job is already active: #{job.pk} ({job.status}); not starting another."
        )
        stdout.write(str(job.pk))
        return True
    if enqueue:
        if job_enqueue_is_eager():
            stderr.write("No broker configured (embedded default): it ran in-process.")
        else:
            stderr.write(f"Enqueued {job.kind}; follow it with: manage.py sync_status ID")
        stdout.write(str(job.pk))
        return True
    return False


def job_run_foreground(job: SyncJob, *, show_progress: bool, unit: str = "item") -> SyncJob:
    """Run ``job`` here with a progress bar, waiting out transient errors' backoff; the job as
    it ended. Ctrl-C cancels it (finished batches are kept)."""
    bar = tqdm(
        desc=f"job #{job.pk} {job.kind}",
        unit=unit,
        disable=not show_progress,
        file=sys.stderr,
    )

    def on_progress(snapshot: ProgressSnapshot) -> None:
        if snapshot.total is not None and bar.total != snapshot.total:
            bar.total = snapshot.total
        bar.n = snapshot.done
        if snapshot.failed:
            bar.set_postfix(failed=snapshot.failed, refresh=False)
        bar.refresh()

    worker = f"{job.kind}@{socket.gethostname()}"
    try:
        while True:
            outcome = job_run(
                job_id=job.pk, worker=worker, listener=on_progress, schedule_retry=False
            )
            if outcome.retry_in is None:
                break
            bar.write(
                f"{outcome.error_code}: {outcome.error_message}; "
                f"retrying in {outcome.retry_in:.1f} s"
            )
            time.sleep(outcome.retry_in)
    finally:
        bar.close()
    job.refresh_from_db()
    return job
