"""Jobs waiting out a rate-limit pause, sent again when the pause is lifted early.

A job stopped by a Spotify 429 is pending with ``next_attempt_at`` at the pause's end (which
can be hours away; see ``sync.services.runner``). When an operator lifts the pause
(``manage.py spotify_unpause``), nothing would claim those jobs before that time: this makes
them due now and sends their messages. Safe to repeat: a job already due is not taken again,
and a duplicated message claims nothing (the runner's claim).
"""

from __future__ import annotations

import logging

from django.utils import timezone

from sync.exceptions import pause_codes
from sync.models import JobStatus, SyncJob
from sync.services.jobs import job_enqueue

logger = logging.getLogger(__name__)


def jobs_resume_paused() -> list[int]:
    """Make every job waiting out a rate-limit pause due now and enqueue it; their ids."""
    now = timezone.now()
    waiting = SyncJob.objects.filter(
        status=JobStatus.PENDING, next_attempt_at__gt=now, error_code__in=pause_codes()
    )
    resumed = [
        job_id
        for job_id in waiting.values_list("pk", flat=True).order_by("pk")
        # Row by row, guarded again: a job claimed or cancelled meanwhile is left alone.
        if waiting.filter(pk=job_id).update(next_attempt_at=now)
    ]
    for job_id in resumed:
        job_enqueue(job_id=job_id)
    if resumed:
        logger.info("%s jobs paused by a rate limit go on now: %s", len(resumed), resumed)
    return resumed
