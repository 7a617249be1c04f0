"""The periodic tasks, declared in code; ``manage.py setup_periodic_tasks`` writes them to beat.

Later job kinds add their entries here; the command then creates, updates or removes the
django-celery-beat rows so the database matches this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Rows whose name starts with this belong to this list; others (made by hand) are left alone.
MANAGED_PREFIX = "encore: "


@dataclass(frozen=True)
class PeriodicEntry:
    name: str
    task: str
    every_seconds: int
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def row_name(self) -> str:
        return f"{MANAGED_PREFIX}{self.name}"


PERIODIC_TASKS: list[PeriodicEntry] = [
    PeriodicEntry(
        name="reap stale sync jobs",
        task="sync.reap_stale_jobs",
        every_seconds=60,
        description="Fail jobs whose worker stopped beating (re-queue repeatable kinds) and "
        "resend the messages of jobs stuck pending.",
    ),
    PeriodicEntry(
        name="purge old import files",
        task="sync.purge_import_files",
        every_seconds=24 * 60 * 60,
        description="Delete uploaded import files older than SYNC_IMPORT_FILE_RETENTION_DAYS "
        "that no pending or running job names.",
    ),
]
