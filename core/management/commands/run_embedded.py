"""``manage.py run_embedded [ADDRPORT] [--noreload]``: the web server and one job worker.

What ``make run`` serves. Django's ``runserver`` in this process, and a Celery worker (solo
pool, one job at a time, with beat inside it for the reaper and the schedules) in a child
process beside it. With no Redis the two share the SQLite
database and pass job messages through files (``EMBEDDED_WORKER``: kombu's filesystem
transport, ``EMBEDDED_BROKER_DIR``), so a job started from the console returns at once and runs
in the background, with live progress and cancel, as it does on a real deployment. With
``REDIS_URL`` set the worker uses Redis like the Procfile's.

The worker is started once, by the first process: runserver's auto-reloader restarts only the
web server when code changes (restart ``make run`` after changing job code). Ctrl-C or SIGTERM
stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

WORKER_ARGS = [
    "-m",
    "celery",
    "-A",
    "config",
    "--quiet",  # no banner
    "worker",
    "--pool=solo",
    "--loglevel=INFO",
    "--without-mingle",
    "--without-gossip",
    "--without-heartbeat",
    # Beat inside the one worker (fine when there is exactly one): the reaper fails or
    # re-queues a job whose worker was killed (Ctrl-C during a job), and the schedules run.
    "--beat",
    "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
]


def _jobs_run_eagerly() -> bool:
    from config.celery import app

    return bool(app.conf.task_always_eager)


class Command(BaseCommand):
    help = "Serve the web app and run a job worker beside it (what `make run` does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--noreload", action="store_true", help="Do not restart the web server on changes."
        )

    def handle(self, *args: Any, addrport: str, noreload: bool, **options: Any) -> None:
        if _jobs_run_eagerly():
            if not settings.EMBEDDED_WORKER:
                # Settings are read at start-up: start again with the embedded broker on.
                env = {**os.environ, "EMBEDDED_WORKER": "1"}
                os.execve(sys.executable, [sys.executable, *sys.argv], env)  # noqa: S606 (ourselves)
            # EMBEDDED_WORKER with CELERY_BROKER_URL set and no Redis: eager stays on.
            self.stderr.write("Jobs run eagerly (CELERY_TASK_ALWAYS_EAGER): no worker started.")
            call_command("runserver", addrport, use_reloader=not noreload)
            return
        if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            # runserver's reloaded child: the first process started the worker already.
            call_command("runserver", addrport, use_reloader=True)
            return
        call_command("setup_periodic_tasks", verbosity=0)  # what the Procfile's beat runs first
        worker = subprocess.Popen([sys.executable, *WORKER_ARGS], cwd=settings.BASE_DIR)  # noqa: S603
        self.stdout.write(f"Job worker started (pid {worker.pid}); jobs run beside the server.")

        def stop(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        try:
            call_command("runserver", addrport, use_reloader=not noreload)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
