"""The heartbeat of a running job, beaten by a thread beside the kind's function.

The reaper fails a running job whose heartbeat is older than ``SYNC_HEARTBEAT_TIMEOUT``.
Checkpoints beat too, but only between batches, and a batch can wait minutes (for the Spotify
budget, or a 429 pause); beating from a thread every ``SYNC_HEARTBEAT_INTERVAL`` seconds
instead means the timeout only has to outlast a few missed beats (90 s by default, not 600):
a job lost with its worker blocks its kind for about a minute and a half.

The thread writes under the same guard as every job write (``status='running'`` and this
attempt), so it never revives a job the reaper has ended, and it stops when the function
returns or raises. It uses its own database connection and closes it when it stops.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.db import connection
from django.utils import timezone

from sync import conf
from sync.models import JobStatus, SyncJob

logger = logging.getLogger(__name__)


def heartbeat_beat(*, job_id: int, attempt_number: int) -> bool:
    """Write the heartbeat now; ``False`` when the job is no longer this attempt's."""
    return bool(
        SyncJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt_number).update(
            heartbeat_at=timezone.now()
        )
    )


def _beat_until(stop: threading.Event, job_id: int, attempt_number: int) -> None:
    interval = conf.heartbeat_interval()
    try:
        while not stop.wait(interval):
            try:
                if not heartbeat_beat(job_id=job_id, attempt_number=attempt_number):
                    return  # finished, cancelled or reaped: nothing to keep alive
            except Exception:  # the database may be away for a moment; beat again later
                logger.warning("sync job %s: heartbeat not written", job_id, exc_info=True)
    finally:
        connection.close()


@contextlib.contextmanager
def heartbeat_running(*, job_id: int, attempt_number: int) -> Iterator[None]:
    """Beat the job's heartbeat from a thread for as long as the block runs.

    Also on a SQLite file: ``make run``'s embedded worker runs beat and with it the reaper,
    which would end a job that waits longer than the timeout between checkpoints. Not on an
    in-memory SQLite database (tests), which another connection cannot write while the job's
    thread reads it.
    """
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat_until,
        args=(stop, job_id, attempt_number),
        name=f"heartbeat-{job_id}",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
