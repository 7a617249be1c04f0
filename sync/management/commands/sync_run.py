"""``manage.py sync_run KIND [--param key=value ...] [--enqueue]``: start a job from the shell.

In the foreground (default) the job runs in this process with a progress bar, retrying
transient errors after their backoff; the exit status is non-zero if the job fails.
``--enqueue`` hands it to the Celery workers instead and prints its id.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.exceptions import ApplicationError
from sync.management.foreground import job_report_started, job_run_foreground, job_start
from sync.models import JobStatus
from sync.params import ImportFileField
from sync.registry import JobKind, all_kinds, get_kind
from sync.services.import_files import import_file_resolve_local


class Command(BaseCommand):
    help = "Start a sync job: run it here with a progress bar, or --enqueue it for the workers."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = ", ".join(kind.name for kind in all_kinds())
        parser.add_argument("kind", help=f"The job kind ({kinds}).")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A job parameter; repeat for several. A file parameter may name a local file, "
            "which is copied into the import folder first.",
        )
        parser.add_argument("--target-user", help="Username or id of the user the job is for.")
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand the job to the workers; print its id."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            kind = get_kind(options["kind"])
            params = _stage_files(kind, _parse_params(options["param"]))
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        request = job_start(
            kind=kind.name,
            params=params,
            enqueue=options["enqueue"],
            target_user=_find_user(options["target_user"]),
        )
        if job_report_started(
            request, enqueue=options["enqueue"], stdout=self.stdout, stderr=self.stderr
        ):
            return
        job = job_run_foreground(request.job, show_progress=not options["no_progress"])
        self.stdout.write(f"Job #{job.pk} {job.kind}: {job.status}")
        if job.result:
            self.stdout.write(json.dumps(job.result, indent=2, sort_keys=True))
        if job.status == JobStatus.FAILED:
            raise CommandError(f"{job.error_code}: {job.error_message}")


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--param {pair!r}: expected KEY=VALUE.")
        if key in params:
            raise CommandError(f"--param {key}: given twice.")
        params[key] = value
    return params


def _stage_files(kind: JobKind, params: dict[str, str]) -> dict[str, str]:
    """Copy local files named by file parameters into the import folder (the only place jobs
    read from); a name that is already in the import folder is used as it is."""
    for name, field in kind.param_fields().items():
        value = params.get(name)
        if value and isinstance(field, ImportFileField):
            params[name] = import_file_resolve_local(value=value)
    return params


def _find_user(value: str | None) -> Any:
    if not value:
        return None
    users = get_user_model().objects
    user = users.filter(pk=int(value)).first() if value.isdigit() else None
    user = user or users.filter(**{get_user_model().USERNAME_FIELD: value}).first()
    if user is None:
        raise CommandError(f"--target-user: no user {value!r}.")
    return user
