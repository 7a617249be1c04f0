"""``make run``'s server for real: ``manage.py run_embedded`` on a SQLite file with no Redis.

A job started through the staff API answers at once (pending, not already finished), runs on
the worker beside the web server with its progress visible while it runs, and is cancelled at
a batch boundary; stopping the server stops the worker too.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

pytestmark = pytest.mark.loopback

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EMBEDDED_BROKER_DIR=str(tmp_path / "broker"),
        MEDIA_ROOT=str(tmp_path / "media"),
        LOG_FORMAT="text",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def _call(url: str, token: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    response = requests.request(
        method, url, json=body, headers={"Authorization": f"Token {token}"}, timeout=30
    )
    return response.status_code, response.json()


def _until(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


def test_make_run_runs_jobs_on_a_worker_beside_the_server(tmp_path):
    env = _env(tmp_path)
    _manage(env, "migrate", "--noinput", "-v", "0")
    token = _manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models "
        "import Token; u = User.objects.create_superuser('ops', '', 'pw-ops-123'); "
        "print(Token.objects.create(user=u).key)",
    ).split()[-1]  # the shell may print a line of its own first
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "run_embedded", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _until(lambda: _healthy(base))
        started = time.monotonic()
        status, job = _call(
            f"{base}/api/admin/sync-jobs/",
            token,
            "POST",
            {"kind": "worker_check", "params": {"items": 100000, "batch_size": 10, "pause_ms": 20}},
        )
        # It answered at once, before the job ran: not "succeeded", no hidden eager run.
        assert status == 201 and job["status"] in ("pending", "running")
        assert time.monotonic() - started < 10
        detail = f"{base}/api/admin/sync-jobs/{job['id']}/"
        running = _until(
            lambda: (body := _call(detail, token)[1])["progress"]["done"] > 0 and body, timeout=60
        )
        assert running["status"] == "running"
        later = _until(
            lambda: (
                (body := _call(detail, token)[1])["progress"]["done"] > running["progress"]["done"]
                and body
            )
        )
        assert later["status"] == "running"  # live progress: it moves while it runs

        status, _ = _call(f"{detail}cancel/", token, "POST")
        assert status == 200
        done = _until(lambda: (body := _call(detail, token)[1])["status"] == "cancelled" and body)
        assert 0 < done["progress"]["done"] < 100000 and done["progress"]["done"] % 10 == 0
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    output = (tmp_path / "server.log").read_text()
    worker_pid = int(re.search(r"Job worker started \(pid (\d+)\)", output).group(1))
    assert "Task sync.run_job" in output  # it ran on the worker, not in the request
    _until(lambda: not _alive(worker_pid), timeout=30)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
