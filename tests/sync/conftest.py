"""Fixtures for the job framework tests: test kinds, an import folder, a real Celery worker."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.db import connections

from sync.registry import registered
from tests.sync import probe

CSV_HEADER = "title,artists,album,duration_ms,isrc,release_date,explicit,spotify_id\n"


@pytest.fixture
def probe_kind() -> Iterator[Any]:
    probe.RUNS.clear()
    with registered(probe.PROBE), registered(probe.USER_PROBE):
        yield probe.PROBE


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.SYNC_RETRY_BASE_DELAY = 0.01
    settings.SYNC_RETRY_MAX_DELAY = 0.05


@pytest.fixture
def import_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "imports"
    folder.mkdir()
    settings.SYNC_IMPORT_DIR = str(folder)
    return folder


@pytest.fixture
def songs_csv(import_dir: Path) -> Callable[..., str]:
    """Write a CSV of ``rows`` songs (plus ``bad`` rows without a title) into the import folder."""

    def write(name: str = "songs.csv", rows: int = 10, bad: int = 0) -> str:
        lines = [CSV_HEADER]
        for i in range(rows):
            lines.append(
                f"Song {i},Artist {i % 7}; Guest {i % 3},Album {i % 4},{180000 + i},"
                f"USABC{i:07d},2001-02-03,false,sp{i:020d}\n"
            )
        for i in range(bad):
            lines.append(f",Nobody,,not-a-number,,,maybe,badsp{i}\n")
        (import_dir / name).write_text("".join(lines), encoding="utf-8")
        return name

    return write


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


class WorkerHandle:
    """A running in-process Celery worker and the tasks it finished (name, args)."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.finished: list[tuple[str, tuple[Any, ...]]] = []

    def count(self, name: str, args: tuple[Any, ...]) -> int:
        return sum(1 for n, a in self.finished if n == name and tuple(a) == args)


@pytest.fixture
def celery_worker(settings: Any, transactional_db: None) -> Iterator[WorkerHandle]:
    """A real Celery worker (solo pool, in a thread) on the Redis broker.

    Each xdist worker gets its own queue so parallel test processes never take each other's
    messages; the database is transactional so the worker thread sees committed jobs.
    """
    from config.celery import app

    queue = f"encore-sync-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    settings.SYNC_TASK_QUEUE = queue
    handle = WorkerHandle(queue)
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)  # leftovers of an interrupted run

    def on_postrun(sender: Any = None, args: Any = None, **kwargs: Any) -> None:
        handle.finished.append((sender.name, tuple(args or ())))
        # The worker thread's connections must not outlive the test database.
        connections.close_all()

    signals.task_postrun.connect(on_postrun, weak=False)
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=[queue],
            loglevel="WARNING",
            shutdown_timeout=30,
        ):
            yield handle
    finally:
        signals.task_postrun.disconnect(on_postrun)
        app.conf.task_always_eager = was_eager
