"""The job framework's tunables, read from Django settings at call time (tests override them).

Every value has a default, so no settings file needs to name them:

- ``SYNC_HEARTBEAT_TIMEOUT`` (s, 90): a running job whose heartbeat is older is "worker lost".
- ``SYNC_HEARTBEAT_INTERVAL`` (s, 15): how often a thread beside a running job beats its
  heartbeat (``sync.services.heartbeat``); the timeout must allow several missed beats.
- ``SYNC_PENDING_RESEND_AFTER`` (s, 600): a pending job still waiting this long after it was
  due has its message sent again (the claim makes a duplicate harmless).
- ``SYNC_RETRY_BASE_DELAY`` (s, 5) and ``SYNC_RETRY_MAX_DELAY`` (s, 900): exponential backoff
  for transient errors, ``base * 2**(attempt-1)`` capped; the cap stays far below the Redis
  visibility timeout (4 h) so a waiting message is never redelivered early.
- ``SYNC_PAUSE_LIMIT`` (20): how many rate-limit pauses (a Spotify 429, the shared budget
  spent) one job waits out; they do not use its attempts, this caps them instead.
- ``SYNC_REQUEUE_LIMIT`` (3): how many times in a row the reaper re-queues a lost job.
- ``SYNC_IMPORT_DIR`` (``MEDIA_ROOT/imports``): where uploaded import files live.
- ``SYNC_IMPORT_FILE_RETENTION_DAYS`` (7): an import file older than this that no pending or
  running job names is deleted by the daily purge; until then a failed import can be retried.
- ``SYNC_TASK_QUEUE`` (``None`` = Celery's default queue): the queue job messages go to.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings


def heartbeat_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "SYNC_HEARTBEAT_TIMEOUT", 90))


def heartbeat_interval() -> float:
    return float(getattr(settings, "SYNC_HEARTBEAT_INTERVAL", 15.0))


def pending_resend_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "SYNC_PENDING_RESEND_AFTER", 600))


def retry_base_delay() -> float:
    return float(getattr(settings, "SYNC_RETRY_BASE_DELAY", 5.0))


def retry_max_delay() -> float:
    return float(getattr(settings, "SYNC_RETRY_MAX_DELAY", 900.0))


def pause_limit() -> int:
    return int(getattr(settings, "SYNC_PAUSE_LIMIT", 20))


def progress_retry_limit() -> int:
    """Transient failures of attempts that committed progress first, per job (they use none of
    the kind's attempts: a long job on a flaky Spotify goes on from where it got to)."""
    return int(getattr(settings, "SYNC_PROGRESS_RETRY_LIMIT", 20))


def requeue_limit() -> int:
    return int(getattr(settings, "SYNC_REQUEUE_LIMIT", 3))


def import_dir() -> Path:
    configured = getattr(settings, "SYNC_IMPORT_DIR", None)
    return Path(configured or Path(settings.MEDIA_ROOT) / "imports")


def import_file_retention() -> timedelta:
    return timedelta(days=getattr(settings, "SYNC_IMPORT_FILE_RETENTION_DAYS", 7))


def task_queue() -> str | None:
    return getattr(settings, "SYNC_TASK_QUEUE", None)
