"""The circuit breaker shared through the cache: two instances stand for two processes (they
share only the cache: Redis with REDIS_URL, as in production; else the process's memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core import metrics
from core.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def _pair(name: str) -> tuple[CircuitBreaker, CircuitBreaker]:
    def make() -> CircuitBreaker:
        return CircuitBreaker(name, failures=3, window=60, open_seconds=0.5)

    return make(), make()


@pytest.fixture
def breakers() -> Iterator[tuple[CircuitBreaker, CircuitBreaker]]:
    one, two = _pair(f"test-{time.monotonic_ns()}")
    one.reset()
    yield one, two
    one.reset()


def _transitions(name: str) -> dict[str, float]:
    figures = metrics.metrics_store().read()["encore_circuit_breaker_transitions"]
    return {k: v for k, v in figures.items() if f'"{name}"' in k}


def test_a_run_of_failures_in_either_process_opens_it_for_both(breakers):
    one, two = breakers
    one.failure()
    two.failure()
    assert one.allow() and two.allow()
    one.failure()  # the third of the run, counted across both

    assert two.state().state == OPEN
    assert not one.allow() and not two.allow()
    assert _transitions(one.name) == {f'["{one.name}","open"]': 1.0}


def test_a_success_breaks_the_run(breakers):
    one, two = breakers
    one.failure()
    one.failure()
    two.success()
    one.failure()
    assert one.state().state == CLOSED and one.state().failures == 1


def test_after_the_open_period_one_probe_goes_and_its_success_closes(breakers):
    one, two = breakers
    for _ in range(3):
        one.failure()
    time.sleep(0.55)
    assert two.state().state == HALF_OPEN

    assert two.allow()  # the probe
    assert not one.allow() and not two.allow()  # everyone else waits for it
    two.success()

    assert one.state().state == CLOSED and one.allow()
    assert _transitions(one.name) == {
        f'["{one.name}","open"]': 1.0,
        f'["{one.name}","closed"]': 1.0,
    }


def test_a_failed_probe_opens_it_again(breakers):
    one, two = breakers
    for _ in range(3):
        two.failure()
    time.sleep(0.55)
    assert one.allow()
    one.failure()

    assert two.state().state == OPEN and not two.allow()
    time.sleep(0.55)
    assert two.allow()  # a new probe after the new open period


def test_an_unreachable_cache_lets_calls_through(monkeypatch, breakers):
    one, _ = breakers
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    assert one.allow()
    assert one.state().state == CLOSED
    one.failure()  # logged, not raised
