"""Fixtures of the fault tests: a throwaway Redis, and Encore pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proof.services import ThrowawayRedis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def on_redis(settings: Any, redis_server: ThrowawayRedis) -> Iterator[ThrowawayRedis]:
    """Encore's cache, metrics, throttles and Celery broker on the throwaway Redis, with
    messages really published (not run eagerly)."""
    from config.celery import app
    from core.metrics import metrics_reset_store
    from core.shared_state import cache_failure_reset

    # Read before anything changes: the app's configuration is loaded from Django's settings on
    # first use, and must come back as it was for the tests that follow in this process.
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": redis_server.url,
        }
    }

    def use_broker(url: str, eager: bool) -> None:
        app.conf.broker_url, app.conf.task_always_eager = url, eager
        app._after_fork()  # drop the pooled connections to the old broker

    use_broker(redis_server.url, False)
    metrics_reset_store()
    cache_failure_reset()
    try:
        yield redis_server
    finally:
        use_broker(*saved)
        metrics_reset_store()
        cache_failure_reset()
