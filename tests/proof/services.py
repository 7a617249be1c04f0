"""Throwaway servers for the fault tests: a private redis-server to stop, hang or kill.

The shared Redis on 6379 is never touched: other test processes (and other people's work)
use it. Each ``ThrowawayRedis`` listens on a free loopback port, keeps nothing on disk and is
killed when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    every: float = 0.02,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` s (with ``explain()``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f":\n{explain()}" if explain else ""
            raise AssertionError(f"condition not met within {timeout} s{detail}")
        time.sleep(every)


class ThrowawayRedis:
    """A redis-server of our own: ``kill()`` it, ``pause()`` it (SIGSTOP: a hung server that
    accepts connections and never answers), ``resume()`` it, ``start()`` it again on the same
    port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed argument list
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.answers, timeout=10)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGCONT)  # a stopped process cannot die until resumed
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


def start_celery_worker(
    *, broker_url: str, database: str, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (solo pool) on ``broker_url`` and the test database;
    ``extra_env`` adds variables (the test settings read a few, e.g. the Spotify URLs)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REDIS_URL=broker_url,
        **(extra_env or {}),
    )
    celery = Path(sys.executable).with_name("celery")
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own fixed argument list
            [str(celery), "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own (initdb into a temp dir, run as the postgres user) on a
    free loopback port: restarted or stopped at will, unlike the shared server."""

    def __init__(self) -> None:
        # Its own folder under /tmp: the postgres user cannot enter pytest's (root's, 0700).
        self.root = Path(tempfile.mkdtemp(prefix="encore-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]

    def _as_postgres(self, *command: str) -> None:
        runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 - our own fixed argument list
            [*runner, *command], check=True, capture_output=True, timeout=60
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", action, *extra
        )

    def start(self) -> None:
        # -l: the server's output to a file, not to our pipe (run() would wait for it to close)
        self._ctl("start", "-l", str(self.data / "server.log"))

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast", "-l", str(self.data / "server.log"))

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_gunicorn(*, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Encore under gunicorn (config/gunicorn.py, one worker) on a loopback port."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("ab") as out:
        server = subprocess.Popen(  # noqa: S603 - our own fixed argument list
            [str(gunicorn), "config.wsgi", "--config", "config/gunicorn.py", "--workers", "1",
             "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return server
