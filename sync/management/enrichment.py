"""The enrichment commands' common part: selection options, a job run here (or enqueued), a
summary. ``spotify_match``, ``spotify_refresh`` and ``spotify_audio_features`` are each a
subclass naming its kind, its options and its summary line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sync.management.foreground import job_report_started, job_run_foreground, job_start
from sync.models import JobStatus, SyncJob


class EnrichmentCommand(BaseCommand):
    kind: str = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ids", default="", help="Only these songs: catalog ids, 1,2,3.")
        parser.add_argument(
            "--artist",
            default="",
            help="Only songs of this artist: catalog id, Spotify id or name.",
        )
        parser.add_argument(
            "--limit", type=int, default=0, help="At most this many songs (0, the default: all)."
        )
        self.add_kind_arguments(parser)
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand the job to the workers; print its id."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def add_kind_arguments(self, parser: CommandParser) -> None:
        """The kind's own options."""

    def kind_params(self, options: dict[str, Any]) -> dict[str, Any]:
        return {}

    def summary(self, result: dict[str, Any]) -> str:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        params = {
            "song_ids": options["ids"],
            "artist": options["artist"],
            "limit": options["limit"],
            **self.kind_params(options),
        }
        request = job_start(kind=self.kind, params=params, enqueue=options["enqueue"])
        if job_report_started(
            request, enqueue=options["enqueue"], stdout=self.stdout, stderr=self.stderr
        ):
            return
        job = job_run_foreground(
            request.job, show_progress=not options["no_progress"], unit=" songs"
        )
        if job.result:
            self.stdout.write(f"{self.summary(job.result)}{_timing(job)}")
        if job.status == JobStatus.FAILED:
            raise CommandError(f"{job.error_code}: {job.error_message}")
        if job.status != JobStatus.SUCCEEDED:
            self.stderr.write(f"Job #{job.pk} {job.kind}: {job.status}")


def _timing(job: SyncJob) -> str:
    seconds = (
        (job.finished_at - job.started_at).total_seconds()
        if job.finished_at and job.started_at
        else 0.0
    )
    calls = job.spotify_calls
    return (
        f" — {job.progress_done:,} songs, {calls:,} Spotify call{'s' if calls != 1 else ''} "
        f"in {seconds:.1f} s (job #{job.pk}, {job.status})"
    )
