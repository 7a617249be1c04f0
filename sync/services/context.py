"""The job context: what a kind's function receives while it runs.

Progress, the Spotify request count and the heartbeat are kept in memory and written by
``checkpoint`` (one UPDATE per batch), never per item. Every write is guarded by
``status='running'`` and ``attempts=<this attempt>``: when it changes no row the job was
cancelled or taken away (reaped as lost), so a worker that was declared lost cannot overwrite
the reaper's verdict later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone

from sync.models import JobStatus, SyncJob, SyncJobAttempt

# Error messages are cut to this length on the job and on its attempt records.
MESSAGE_MAX = 2000


@dataclass(frozen=True)
class ProgressSnapshot:
    job_id: int
    done: int
    total: int | None
    failed: int


ProgressListener = Callable[[ProgressSnapshot], None]


class JobContext:
    """What a kind's function receives: its job's identity and the way to report progress.

    Progress is kept in memory and written by ``checkpoint`` (one UPDATE per batch, with the
    heartbeat), never per item.
    """

    def __init__(
        self, *, job: SyncJob, attempt: SyncJobAttempt, listener: ProgressListener | None = None
    ) -> None:
        self.job_id: int = job.pk
        self.kind: str = job.kind
        self.params: dict[str, Any] = dict(job.params)
        self.target_user_id: int | None = job.target_user_id
        self.attempt_number: int = attempt.number
        self.total: int | None = job.progress_total
        self.done: int = job.progress_done
        self.failed: int = job.progress_failed
        self.stop_reason: str | None = None  # "cancelled" or "lost" once checkpoint said stop
        self.checkpoints: int = 0  # batches this attempt committed and recorded
        self._spotify_calls: int = job.spotify_calls
        self._spotify_calls_saved: int = job.spotify_calls
        self._listener = listener

    @property
    def spotify_calls(self) -> int:
        """The number of Spotify Web API requests the job has made, all its attempts together.

        Every HTTP request sent to Spotify on the job's behalf counts once, a request sent
        again after a 429 or a 5xx included. It is ``SyncJob.spotify_calls``: kinds add to it
        with ``add_spotify_calls`` and the next checkpoint (or the finish) writes it.
        """
        return self._spotify_calls

    def add_spotify_calls(self, n: int = 1) -> None:
        """Count ``n`` more Spotify Web API requests (see ``spotify_calls``)."""
        self._spotify_calls += n

    def report(
        self, *, done: int | None = None, total: int | None = None, failed: int | None = None
    ) -> None:
        """Update progress in memory only (written by the next checkpoint or at the finish)."""
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if failed is not None:
            self.failed = failed

    def _progress_fields(self, now: datetime) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "progress_done": self.done,
            "progress_total": self.total,
            "progress_failed": self.failed,
            "heartbeat_at": now,
        }
        unsaved = self._spotify_calls - self._spotify_calls_saved
        if unsaved:
            # Added in the database, so the count never depends on what this worker last read.
            fields["spotify_calls"] = F("spotify_calls") + unsaved
        return fields

    def _saved(self) -> None:
        self._spotify_calls_saved = self._spotify_calls

    def _ours(self) -> QuerySet[SyncJob]:
        """The job's row, only while it is running under this attempt."""
        return SyncJob.objects.filter(
            pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt_number
        )

    def checkpoint(
        self, *, done: int | None = None, total: int | None = None, failed: int | None = None
    ) -> bool:
        """Record progress and the heartbeat after a batch; ``False`` means stop now.

        One UPDATE when the job goes on. ``False`` when an operator asked to cancel (the
        progress of the batch just finished is still written: the job keeps it) or when the job
        is no longer this attempt's to run (reaped as lost).
        """
        self.report(done=done, total=total, failed=failed)
        if self.stop_reason:
            return False
        now = timezone.now()
        fields = self._progress_fields(now)
        if self._ours().filter(cancel_requested_at__isnull=True).update(**fields):
            self.checkpoints += 1
            self._saved()
            self._notify()
            return True
        if self._ours().update(**fields):
            self.checkpoints += 1
            self._saved()
            self.stop_reason = "cancelled"
            self._notify()
        else:
            self.stop_reason = "lost"
        return False

    def _notify(self) -> None:
        if self._listener is not None:
            self._listener(
                ProgressSnapshot(
                    job_id=self.job_id, done=self.done, total=self.total, failed=self.failed
                )
            )

    def finish(
        self,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        error_code: str = "",
        error_message: str = "",
    ) -> bool:
        """Write the final state if the job is still this attempt's; ``False`` if it was not."""
        now = timezone.now()
        fields = self._progress_fields(now)
        fields.update(
            status=status,
            finished_at=now,
            error_code=error_code,
            error_message=error_message[:MESSAGE_MAX],
            next_attempt_at=None,
        )
        if result is not None:
            fields["result"] = result
        if not self._ours().update(**fields):
            return False
        self._saved()
        return True

    def release_for_retry(
        self, *, next_attempt_at: datetime, error_code: str, error_message: str
    ) -> bool:
        """Put the job back to pending until ``next_attempt_at``, keeping its progress.

        Guarded like ``finish``: ``False`` (and nothing written) if the job is no longer this
        attempt's. The caller records the attempt and schedules the retry.
        """
        fields = self._progress_fields(timezone.now())
        fields.update(
            status=JobStatus.PENDING,
            heartbeat_at=None,
            next_attempt_at=next_attempt_at,
            error_code=error_code,
            error_message=error_message[:MESSAGE_MAX],
        )
        if not self._ours().update(**fields):
            return False
        self._saved()
        return True
