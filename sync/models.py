"""The background job record (`SyncJob`) and one row per attempt to run it (`SyncJobAttempt`).

A job's life: ``pending`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``. A job
waiting to retry after a transient error is ``pending`` again with ``next_attempt_at`` set.
The database allows one *active* (pending or running) job per kind and target; see
``SyncJob.Meta.constraints``. All state changes are written by ``sync.services``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES: tuple[str, ...] = (JobStatus.PENDING, JobStatus.RUNNING)
FINISHED_STATUSES: tuple[str, ...] = (
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)


class JobTrigger(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    COMMAND = "command", "Command"
    SCHEDULE = "schedule", "Schedule"


class AttemptOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYING = "retrying", "Failed, will retry"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    LOST = "lost", "Worker lost"


def target_key_for(target_user_id: int | None) -> str:
    """The non-null column the one-active-job constraint uses for "no target" and a user.

    NULLs are distinct in a unique index on both SQLite and PostgreSQL < 15, so the constraint
    cannot use the nullable ``target_user`` column itself.
    """
    return f"user:{target_user_id}" if target_user_id is not None else ""


class SyncJob(models.Model):
    kind = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    trigger = models.CharField(max_length=10, choices=JobTrigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for the job (empty for the schedule).",
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sync_jobs",
        help_text="The user whose data the job works on, for per-user kinds.",
    )
    target_key = models.CharField(max_length=64, default="", blank=True, editable=False)
    params = models.JSONField(default=dict, blank=True)

    progress_total = models.PositiveIntegerField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_failed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Spotify Web API requests the job made, all attempts together (JobContext.spotify_calls).
    spotify_calls = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set while a retry waits out its backoff; the reaper leaves such jobs alone until then.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    result = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    celery_task_id = models.CharField(max_length=255, blank=True, default="")
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        help_text="The failed or cancelled job this one runs again.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not Python, guarantees one active job per kind and target: two
            # concurrent requests race here and the loser gets the winner's job back.
            models.UniqueConstraint(
                fields=["kind", "target_key"],
                condition=models.Q(status__in=["pending", "running"]),
                name="syncjob_one_active_per_kind_target",
            ),
        ]
        indexes = [
            # The reaper's question: which running jobs stopped beating?
            models.Index(fields=["status", "heartbeat_at"], name="syncjob_status_heartbeat"),
            models.Index(fields=["kind", "-created_at"], name="syncjob_kind_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self) -> timedelta | None:
        """Run time so far (running) or in total (finished); ``None`` before it started."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return end - self.started_at

    @property
    def succeeded_with_errors(self) -> bool:
        """Succeeded, but some items failed (an import's bad rows): a warning, not all green."""
        return self.status == JobStatus.SUCCEEDED and self.progress_failed > 0

    @property
    def state(self) -> str:
        """The status as the console shows it: ``warning`` for a success with failed items."""
        return "warning" if self.succeeded_with_errors else self.status

    @property
    def state_label(self) -> str:
        if self.succeeded_with_errors:
            failed = self.progress_failed
            return f"Succeeded with {failed:,} error{'s' if failed != 1 else ''}"
        return self.get_status_display()

    @property
    def progress_percent(self) -> int | None:
        """0–100, or ``None`` while the total is unknown."""
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, int(self.progress_done * 100 / self.progress_total))


class SyncJobAttempt(models.Model):
    """One run of a job by a worker: when, where and how it ended."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="attempt_records")
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(
        max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.RUNNING
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    celery_task_id = models.CharField(max_length=255, blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")
    retry_in_seconds = models.FloatField(null=True, blank=True)
    # The attempt committed at least one batch (a checkpoint) before it failed: a transient
    # failure after progress does not count against the kind's attempts (SYNC_PROGRESS_RETRY_LIMIT).
    progressed = models.BooleanField(default=False)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="syncjobattempt_job_number")
        ]

    def __str__(self) -> str:
        return f"job #{self.job_id} attempt {self.number}: {self.outcome}"


# What the console and the API show of an attempt, in this order.
ATTEMPT_FIELDS: tuple[str, ...] = (
    "number",
    "outcome",
    "started_at",
    "finished_at",
    "error_code",
    "error_message",
    "retry_in_seconds",
    "worker",
    "celery_task_id",
)
