"""Helpers shared by the job framework's tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from sync.models import JobTrigger, SyncJob
from sync.services.jobs import job_create
from sync.services.runner import job_claim


def create(kind: str = "probe", params: dict[str, Any] | None = None, **kwargs: Any) -> SyncJob:
    kwargs.setdefault("trigger", JobTrigger.API)
    kwargs.setdefault("enqueue", False)
    return job_create(kind=kind, params=params or {}, **kwargs).job


def left_running(job: SyncJob, *, beat_ago: timedelta) -> SyncJob:
    """What a killed worker leaves behind: running, attempt open, heartbeat getting old."""
    claim = job_claim(job_id=job.pk, task_id="dead-task")
    assert claim is not None
    claimed, _ = claim
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - beat_ago)
    return claimed
