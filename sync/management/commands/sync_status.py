"""``manage.py sync_status [ID]``: recent jobs as a table, or one job in full."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sync.models import JobStatus, SyncJob
from sync.selectors import job_detail_queryset, job_list, job_progress


class Command(BaseCommand):
    help = "Show recent sync jobs, or one job (parameters, progress, result, error, attempts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", nargs="?", type=int, help="Show this job in full.")
        parser.add_argument("--kind", help="Only jobs of this kind.")
        parser.add_argument("--status", choices=JobStatus.values, help="Only jobs in this status.")
        parser.add_argument("--active", action="store_true", help="Only pending/running jobs.")
        parser.add_argument("--limit", type=int, default=20, help="How many jobs (default 20).")

    def handle(self, *args: Any, job_id: int | None, **options: Any) -> None:
        if job_id is not None:
            job = job_detail_queryset().filter(pk=job_id).first()
            if job is None:
                raise CommandError(f"No sync job #{job_id}.")
            self._show(job)
            return
        jobs = job_list(kind=options["kind"], status=options["status"])
        if options["active"]:
            jobs = jobs.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING))
        rows = list(jobs[: max(1, options["limit"])])
        if not rows:
            self.stdout.write("No sync jobs.")
            return
        header = f"{'ID':>6}  {'KIND':<18} {'STATUS':<10} {'TRIGGER':<8} {'PROGRESS':<22} "
        self.stdout.write(header + f"{'ATTEMPTS':>8}  CREATED")
        for job in rows:
            self.stdout.write(
                f"{job.pk:>6}  {job.kind:<18.18} {job.status:<10} {job.trigger:<8} "
                f"{_progress_text(job):<22.22} {job.attempts:>8}  "
                f"{job.created_at:%Y-%m-%d %H:%M:%S}"
            )

    def _show(self, job: SyncJob) -> None:
        progress = job_progress(job)
        lines = [
            f"Job #{job.pk}  {job.kind}  {job.status}"
            + ("  (cancel requested)" if progress["cancel_requested"] and job.is_active else ""),
            f"  trigger:    {job.trigger}"
            + (f" by {job.triggered_by.get_username()}" if job.triggered_by else ""),
            f"  target:     {job.target_user.get_username() if job.target_user else '—'}",
            f"  params:     {json.dumps(job.params, sort_keys=True)}",
            f"  progress:   {_progress_text(job)}",
            f"  attempts:   {job.attempts}   spotify calls: {job.spotify_calls}",
            f"  created:    {job.created_at:%Y-%m-%d %H:%M:%S}",
            f"  started:    {job.started_at:%Y-%m-%d %H:%M:%S}" if job.started_at else "",
            f"  finished:   {job.finished_at:%Y-%m-%d %H:%M:%S}" if job.finished_at else "",
            f"  duration:   {progress['duration_seconds']} s"
            if progress["duration_seconds"] is not None
            else "",
            f"  retry of:   #{job.retry_of_id}" if job.retry_of_id else "",
            f"  retried as: {', '.join(f'#{r.pk}' for r in job.retries.all())}"
            if job.retries.all()
            else "",
            f"  error:      {job.error_code}: {job.error_message}" if job.error_code else "",
        ]
        self.stdout.write("\n".join(line for line in lines if line))
        if job.result:
            self.stdout.write("  result:")
            self.stdout.write(_indent(json.dumps(job.result, indent=2, sort_keys=True)))
        attempts = list(job.attempt_records.all())
        if attempts:
            self.stdout.write("  attempts:")
            for attempt in attempts:
                error = (
                    f"  {attempt.error_code}: {attempt.error_message}" if attempt.error_code else ""
                )
                self.stdout.write(
                    f"    {attempt.number}. {attempt.outcome:<10} "
                    f"{attempt.started_at:%Y-%m-%d %H:%M:%S}{error}"
                )


def _progress_text(job: SyncJob) -> str:
    text = f"{job.progress_done}"
    if job.progress_total is not None:
        text += f"/{job.progress_total}"
        if job.progress_percent is not None:
            text += f" ({job.progress_percent}%)"
    if job.progress_failed:
        text += f" {job.progress_failed} failed"
    return text


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
