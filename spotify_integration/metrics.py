"""Counting Spotify calls: every HTTP request the client package makes is recorded here.

Wrap work in ``count_spotify_calls()`` and read the counter afterwards::

    with count_spotify_calls() as calls:
        SpotifyClient.for_app().tracks(track_ids)
    calls.total, calls.by_endpoint(), calls.by_status()

Counters nest (an outer and an inner counter both see a call) and are per execution context
(``contextvars``): concurrent requests or tasks never count each other's calls. A thread
started inside the block does not inherit the counter; wrap the work inside that thread.
Each call is also logged on ``encore.spotify`` (endpoint, status, duration) for operators, and
counted in the process-wide figures of ``/metrics`` (:mod:`core.metrics`,
``encore_spotify_calls_total{endpoint, status}``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from core import metrics as shared_metrics

logger = logging.getLogger("encore.spotify")


@dataclass(frozen=True)
class SpotifyCall:
    """One HTTP request to Spotify. ``status`` is None when no response came (network)."""

    endpoint: str  # a template such as "GET /tracks/{id}", never ids or tokens
    status: int | None
    duration_ms: float


@dataclass
class SpotifyCallCounter:
    calls: list[SpotifyCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, call: SpotifyCall) -> None:
        with self._lock:
            self.calls.append(call)

    @property
    def total(self) -> int:
        return len(self.calls)

    def by_endpoint(self) -> dict[str, int]:
        return dict(Counter(c.endpoint for c in self.calls))

    def by_status(self) -> dict[int | None, int]:
        return dict(Counter(c.status for c in self.calls))

    @property
    def total_duration_ms(self) -> float:
        return round(sum(c.duration_ms for c in self.calls), 2)


_active: contextvars.ContextVar[tuple[SpotifyCallCounter, ...]] = contextvars.ContextVar(
    "spotify_call_counters", default=()
)


@contextlib.contextmanager
def count_spotify_calls() -> Iterator[SpotifyCallCounter]:
    """Count every Spotify call made inside the block (in this context)."""
    counter = SpotifyCallCounter()
    reset = _active.set((*_active.get(), counter))
    try:
        yield counter
    finally:
        _active.reset(reset)


def record_spotify_call(*, endpoint: str, status: int | None, duration_ms: float) -> None:
    """Called by the client once per HTTP request (each retry is a request of its own)."""
    call = SpotifyCall(endpoint=endpoint, status=status, duration_ms=round(duration_ms, 2))
    for counter in _active.get():
        counter.add(call)
    shared_metrics.record_spotify_call(endpoint=endpoint, status=status)
    logger.info(
        "spotify %s -> %s in %.1fms",
        endpoint,
        status if status is not None else "no response",
        call.duration_ms,
        extra={"spotify_endpoint": endpoint, "status": status, "duration_ms": call.duration_ms},
    )
