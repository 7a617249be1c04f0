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
    """A task beat sends every ``every_seconds``, or at the times of ``crontab`` (five fields,
    "minute hour day-of-month month day-of-week", in UTC) when that is given."""

    name: str
    task: str
    description: str
    every_seconds: int = 0
    crontab: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def row_name(self) -> str:
        return f"{MANAGED_PREFIX}{self.name}"

    @property
    def when(self) -> str:
        return f"at {self.crontab} UTC" if self.crontab else f"every {self.every_seconds} s"


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
    PeriodicEntry(
        name="match new songs to Spotify",
        task="sync.start_enrichment_job",
        every_seconds=60 * 60,
        description="Start a spotify_match job for songs never tried (at most "
        "SPOTIFY_MATCH_HOURLY_LIMIT a run); nothing when Spotify is not configured.",
        kwargs={"kind": "spotify_match"},
    ),
    PeriodicEntry(
        name="refresh stale Spotify metadata",
        task="sync.start_enrichment_job",
        crontab="30 3 * * *",
        description="Start a spotify_refresh job for songs synced longer ago than "
        "SPOTIFY_REFRESH_AFTER_DAYS (at most SPOTIFY_REFRESH_NIGHTLY_LIMIT a run); nothing "
        "when Spotify is not configured.",
        kwargs={"kind": "spotify_refresh"},
    ),
    PeriodicEntry(
        name="sync users' libraries",
        task="library.fan_out",
        every_seconds=60,
        description="Start the plays sync (every LIBRARY_PLAYS_SYNC_INTERVAL s) and the "
        "playlists sync (every LIBRARY_PLAYLISTS_SYNC_INTERVAL s) of each connection that is "
        "due, at its own offset in the interval; skip those needing reauth, expired or paused.",
    ),
]
