"""Reads of the job framework: lists for the console and API, and progress for polling."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import Coalesce, Now

from sync import conf
from sync.models import ACTIVE_STATUSES, SyncJob

_RUN_TIME = ExpressionWrapper(
    Coalesce(F("finished_at"), Now()) - F("started_at"), output_field=DurationField()
)


def with_run_time(queryset: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
    """Annotate ``run_time``: finished − started, or now − started while running; NULL before."""
    return queryset.annotate(run_time=_RUN_TIME)


def job_list(*, kind: str | None = None, status: str | None = None) -> QuerySet[SyncJob]:
    """Jobs newest first, with the users they show loaded in the same query (no N+1)."""
    queryset = SyncJob.objects.select_related("triggered_by", "target_user").order_by(
        "-created_at", "-id"
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def job_detail_queryset() -> QuerySet[SyncJob]:
    """Jobs with everything their detail view shows: users, attempts, the linked jobs."""
    return SyncJob.objects.select_related(
        "triggered_by", "target_user", "retry_of"
    ).prefetch_related("attempt_records", "retries")


def jobs_slower_than(queryset: QuerySet[SyncJob], limit: timedelta) -> QuerySet[SyncJob]:
    """Jobs that ran (or have been running) longer than ``limit``."""
    return queryset.annotate(run_time=_RUN_TIME).filter(run_time__gt=limit)


def jobs_active(queryset: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
    return queryset.filter(status__in=ACTIVE_STATUSES)


def job_progress(job: SyncJob) -> dict[str, Any]:
    """The small JSON a progress bar needs (also used by the admin's polling endpoint)."""
    duration = job.duration
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.state_label,
        "state": job.state,
        "active": job.is_active,
        "cancel_requested": job.cancel_requested_at is not None,
        "done": job.progress_done,
        "total": job.progress_total,
        "failed": job.progress_failed,
        "percent": job.progress_percent,
        "attempts": job.attempts,
        "duration_seconds": round(duration.total_seconds(), 1) if duration else None,
        "error_code": job.error_code,
    }


def jobs_progress(*, ids: Iterable[int]) -> list[dict[str, Any]]:
    """Progress of the given jobs, in one query; unknown ids are left out."""
    fields = (
        "id",
        "kind",
        "status",
        "progress_done",
        "progress_total",
        "progress_failed",
        "attempts",
        "started_at",
        "finished_at",
        "cancel_requested_at",
        "error_code",
    )
    jobs = SyncJob.objects.filter(pk__in=list(ids)).only(*fields).order_by("pk")
    return [job_progress(job) for job in jobs]


# import_file_store / import_file_stage name files "<12 hex>_<original name>".
_STORED_PREFIX = re.compile(r"^[0-9a-f]{12}_")


@dataclass(frozen=True)
class ImportFile:
    """A file of the import folder, as the console offers it."""

    name: str  # relative to the import folder: what a job's ``path`` parameter holds
    original_name: str
    size: int
    modified: datetime

    @property
    def label(self) -> str:
        size = f"{self.size / 1024:,.1f} KB" if self.size >= 1024 else f"{self.size} bytes"
        when = self.modified.strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"{self.original_name} ({size}, uploaded {when})"


def import_files_list(*, limit: int = 200) -> list[ImportFile]:
    """The import folder's files, newest first (the "Start a job" page's choice of files)."""
    root = conf.import_dir()
    if not root.is_dir():
        return []
    files = []
    for path in root.iterdir():
        try:
            stat = path.stat()
        except FileNotFoundError:  # purged meanwhile
            continue
        if not path.is_file():
            continue
        files.append(
            ImportFile(
                name=path.name,
                original_name=_STORED_PREFIX.sub("", path.name),
                size=stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            )
        )
    files.sort(key=lambda f: (f.modified, f.name), reverse=True)
    return files[:limit]
