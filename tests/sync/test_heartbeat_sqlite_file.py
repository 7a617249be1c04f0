"""The embedded default (``make run``: a SQLite file, a worker and beat with the reaper beside
the web server) beats running jobs' heartbeats too, or the reaper would end a job that waits
longer than the timeout between checkpoints. Checked in a subprocess on a real SQLite file:
the suite's own SQLite database is in memory, which a second connection cannot write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import time
from datetime import timedelta
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
settings.SYNC_HEARTBEAT_INTERVAL = 0.1
call_command("migrate", verbosity=0)
from sync.models import JobStatus, SyncJob
from sync.services.heartbeat import heartbeat_running
stale = timezone.now() - timedelta(minutes=5)
job = SyncJob.objects.create(
    kind="worker_check", params={}, status=JobStatus.RUNNING, attempts=1, heartbeat_at=stale
)
with heartbeat_running(job_id=job.pk, attempt_number=1):
    time.sleep(0.8)
job.refresh_from_db()
print("BEATEN" if job.heartbeat_at > stale + timedelta(minutes=4) else "NOT BEATEN")
"""


def test_a_job_on_a_sqlite_file_has_its_heartbeat_beaten(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DEBUG": "true",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(  # noqa: S603 - our own script, this interpreter
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "BEATEN", done.stdout + done.stderr[-2000:]
