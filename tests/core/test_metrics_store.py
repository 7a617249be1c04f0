"""The metrics store's buffering: increments added up in process, written in one round trip."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from core import metrics_store as store_module
from core.metrics import SPECS
from core.metrics_store import MetricsStore

CALLS = "encore_spotify_calls"
SEARCH = "encore_search_duration_seconds"
OK = '["GET /search","200"]'


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): without it the figures are one process's")
    yield redis.Redis.from_url(str(settings.REDIS_URL), decode_responses=True)


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    prefix = f"test-metrics-store-{os.getpid()}-{time.monotonic_ns()}:"
    yield prefix
    client.delete(*(f"{prefix}metrics:{name}" for name in SPECS))


def _buffered(client: redis.Redis, prefix: str, **kwargs: Any) -> MetricsStore:
    # An hour between the flusher thread's writes: only the test's own flush() writes.
    return MetricsStore(redis=client, names=SPECS, prefix=prefix, flush_seconds=3600, **kwargs)


def _in_redis(client: redis.Redis, prefix: str, name: str) -> dict[str, float]:
    return {str(k): float(v) for k, v in client.hgetall(f"{prefix}metrics:{name}").items()}


def test_calls_from_many_threads_add_up_and_are_written_at_the_flush(client, prefix):
    store = _buffered(client, prefix)

    # Given 8 threads recording 500 calls each, and a search histogram's fields
    def record() -> None:
        for _ in range(500):
            store.add_many({CALLS: {OK: 1}, SEARCH: {'sum|["local","ok"]': 0.25}})

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then nothing is in Redis before the flush
    assert _in_redis(client, prefix, CALLS) == {}
    # When the store flushes, then every increment is there, once
    store.flush()
    assert _in_redis(client, prefix, CALLS) == {OK: 4000}
    assert _in_redis(client, prefix, SEARCH) == {'sum|["local","ok"]': 1000}
    store.flush()
    assert _in_redis(client, prefix, CALLS) == {OK: 4000}


def test_the_flusher_thread_writes_once_the_interval_has_passed(client, prefix):
    store = MetricsStore(redis=client, names=SPECS, prefix=prefix, flush_seconds=0.2)
    store.add(CALLS, {OK: 1})
    store.add(CALLS, {OK: 2})
    assert _in_redis(client, prefix, CALLS) == {}

    deadline = time.monotonic() + 5
    while not _in_redis(client, prefix, CALLS) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert _in_redis(client, prefix, CALLS) == {OK: 3}


def test_a_process_reads_its_own_pending_figures(client, prefix):
    store = _buffered(client, prefix)
    other = MetricsStore(redis=client, names=SPECS, prefix=prefix)  # another process, written
    other.add(CALLS, {OK: 5})

    store.add(CALLS, {OK: 2})

    assert store.read()[CALLS] == {OK: 7}
    assert _in_redis(client, prefix, CALLS) == {OK: 7}


def test_a_forked_child_never_writes_its_parents_pending_figures(client, prefix, monkeypatch):
    store = _buffered(client, prefix)
    store.add(CALLS, {OK: 3})  # the parent's, not written yet

    # When the process forks (a new pid): the child records, flushes and exits
    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 100_000)
    store.add(CALLS, {OK: 1})
    store.flush()
    # Then only the child's own figure is written
    assert _in_redis(client, prefix, CALLS) == {OK: 1}


def test_a_real_forked_child_that_records_nothing_writes_nothing_at_exit(client, prefix):
    store = _buffered(client, prefix)
    store.add(CALLS, {OK: 3})

    pid = os.fork()
    if pid == 0:  # the child: reads (which flushes), then exits through the atexit hooks
        code = 0 if store.read()[CALLS] == {} else 1
        store_module.flush_all()
        os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert _in_redis(client, prefix, CALLS) == {}
    store.flush()
    assert _in_redis(client, prefix, CALLS) == {OK: 3}


def test_the_exit_hook_writes_what_is_pending(client, prefix):
    store = _buffered(client, prefix)
    store.add(CALLS, {OK: 4})

    store_module.flush_all()

    assert _in_redis(client, prefix, CALLS) == {OK: 4}


def test_a_celery_child_ending_writes_what_is_pending(client, prefix):
    # A prefork child ends with os._exit (billiard): the atexit hook never runs there.
    from celery.signals import worker_process_shutdown

    import config.celery  # noqa: F401  (connects the handler)

    store = _buffered(client, prefix)
    store.add(CALLS, {OK: 5})

    worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)

    assert _in_redis(client, prefix, CALLS) == {OK: 5}


def test_a_redis_outage_drops_the_pending_figures_and_warns_once(client, prefix, caplog):
    dead = store_module.metrics_redis("redis://127.0.0.1:1/0")
    if dead is None:
        pytest.skip("needs django-redis as the cache: without it metrics live in the process")
    store = MetricsStore(redis=dead, names=SPECS, prefix=prefix, flush_seconds=3600)
    store.add(CALLS, {OK: 1})

    # When the flush fails, then the caller sees no error and one warning
    with caplog.at_level(logging.WARNING, logger="core.metrics_store"):
        store.flush()
        store.add(CALLS, {OK: 1})  # backing off: not even kept
        store.flush()
    assert sum("metrics: Redis unavailable" in r.getMessage() for r in caplog.records) == 1

    # And once Redis is back, nothing of the outage is written
    store._redis = client
    store._down_until = 0.0
    store.flush()
    assert _in_redis(client, prefix, CALLS) == {}
    store.add(CALLS, {OK: 1})
    store.flush()
    assert _in_redis(client, prefix, CALLS) == {OK: 1}


def test_zero_seconds_writes_every_call_through(client, prefix):
    store = MetricsStore(redis=client, names=SPECS, prefix=prefix, flush_seconds=0)

    store.add(CALLS, {OK: 1})

    assert _in_redis(client, prefix, CALLS) == {OK: 1}
