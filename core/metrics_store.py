"""Where the metrics' figures live: Redis hashes every process adds to, or this process's memory.

With Redis, a process adds its increments up in memory and writes them in one pipelined round
trip at most every ``METRICS_FLUSH_SECONDS`` (from a daemon thread of its own, at exit, and
before it reads), instead of one round trip per recording: that round trip cost a search about
0.9 ms of CPU. ``0`` writes through on every call. A figure is in Redis, and seen by a scrape,
at most that long after it was recorded; a process killed outright loses its last interval.

Recording never breaks or slows its caller: a Redis error is logged (at most once a minute)
and swallowed, what it failed to write is dropped, and nothing is recorded for the next
``BACKOFF_SECONDS``, so a Redis outage costs no connection timeout per call.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 30.0  # after a Redis error, record nothing to Redis for this long

Figures = dict[str, dict[str, float]]  # metric -> field -> value


def metrics_redis(location: str | None = None) -> Any | None:
    """A Redis client for the figures, on the cache's Redis (or ``location``), or None
    without django-redis.

    A client of its own, with short timeouts and no retries: redis-py retries a failed
    command ten times with backoff by default, seconds a Spotify call must not wait.
    """
    cache_settings = settings.CACHES["default"]
    if not cache_settings["BACKEND"].startswith("django_redis."):
        return None
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        location or cache_settings["LOCATION"],
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


def _add_into(figures: Figures, changes: Mapping[str, Mapping[str, float]]) -> None:
    for name, increments in changes.items():
        fields = figures.setdefault(name, {})
        for field_name, amount in increments.items():
            fields[field_name] = fields.get(field_name, 0.0) + amount


class MetricsStore:
    """The figures of the metrics ``names``, in Redis when ``redis`` is a client, else here.

    Each metric is one hash ``<prefix>metrics:<name>``; a field is the JSON list of label
    values (for a histogram prefixed ``b<i>|`` per bucket, ``sum|`` and ``count|``).

    With Redis and ``flush_seconds`` above 0, increments are added up under a lock in a
    pending dict, which :meth:`flush` swaps out under the lock and writes outside it. Its size
    is bounded by the fields (fixed label vocabularies), not by the calls; and it is dropped,
    never kept for later, when Redis fails or while it is backed off. The pending figures
    belong to the process that recorded them (``_pid``): a forked child starts with none and a
    flusher thread of its own, and never writes its parent's copy.
    """

    def __init__(
        self,
        *,
        redis: Any | None,
        names: Iterable[str],
        prefix: str = "",
        flush_seconds: float = 0.0,
    ) -> None:
        self._redis: Any = redis  # None: this process's memory
        self._names = tuple(names)
        self._prefix = prefix
        self._flush_seconds = flush_seconds
        self._local: Figures = {}  # without Redis: every figure, in this process
        self._pending: Figures = {}  # with Redis: increments not written yet
        self._pid: int | None = None  # the process whose flusher thread runs
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._logged_at = 0.0
        _stores.add(self)

    def key(self, name: str) -> str:
        return f"{self._prefix}metrics:{name}"

    def add(self, name: str, increments: Mapping[str, float]) -> None:
        """Add ``increments`` (field -> amount) to metric ``name``."""
        self.add_many({name: increments})

    def add_many(self, changes: Mapping[str, Mapping[str, float]]) -> None:
        """Add to several metrics at once (metric -> field -> amount): at most one round trip."""
        if self._redis is None:
            with self._lock:
                _add_into(self._local, changes)
            return
        if time.monotonic() < self._down_until:
            return
        if self._flush_seconds <= 0:
            self._write(changes)
            return
        self._own_process()
        with self._lock:
            _add_into(self._pending, changes)

    def flush(self) -> None:
        """Write this process's pending increments to Redis in one round trip."""
        with self._lock:
            batch, self._pending = self._pending, {}
            ours = self._pid == os.getpid()
        # A forked child's copy of its parent's figures is dropped: the parent writes them.
        if batch and ours and time.monotonic() >= self._down_until:
            self._write(batch)

    def read(self) -> Figures:
        """Every metric's fields and values (one pipelined round trip with Redis), this
        process's pending increments included."""
        if self._redis is None:
            with self._lock:
                return {name: dict(self._local.get(name, {})) for name in self._names}
        self.flush()
        pipe = self._redis.pipeline(transaction=False)
        for name in self._names:
            pipe.hgetall(self.key(name))
        raw = pipe.execute()
        return {
            name: {_text(k): float(_text(v)) for k, v in fields.items()}
            for name, fields in zip(self._names, raw, strict=True)
        }

    def clear(self) -> None:
        """Forget every figure (tests)."""
        with self._lock:
            self._local.clear()
            self._pending.clear()
        if self._redis is not None:
            self._redis.delete(*(self.key(name) for name in self._names))

    def _own_process(self) -> None:
        """Start the flusher thread on first use in this process (again after a fork)."""
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pending = {}  # copied from the parent, which writes them itself
            self._pid = pid
        threading.Thread(
            target=_flush_every,
            args=(weakref.ref(self), pid, self._flush_seconds),
            name="metrics-flush",
            daemon=True,
        ).start()

    def _write(self, changes: Mapping[str, Mapping[str, float]]) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for name, increments in changes.items():
                for field_name, amount in increments.items():
                    # Float for every field: a sum of seconds may be whole once, and HINCRBY
                    # refuses a field that already holds "2.5".
                    pipe.hincrbyfloat(self.key(name), field_name, amount)
            pipe.execute()
        except Exception as exc:  # metrics must never break the caller
            self._down_until = time.monotonic() + BACKOFF_SECONDS
            if time.monotonic() - self._logged_at > 60:
                self._logged_at = time.monotonic()
                logger.warning(
                    "metrics: Redis unavailable (%s); not recording for %.0f s",
                    type(exc).__name__,
                    BACKOFF_SECONDS,
                )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _flush_every(ref: weakref.ref[MetricsStore], pid: int, seconds: float) -> None:
    """The flusher thread's loop. It holds its store weakly, so a dropped store (tests, a
    settings switch) ends it, as does a newer thread taking the store over."""
    while True:
        time.sleep(seconds)
        store = ref()
        if store is None or store._pid != pid:
            return
        store.flush()
        del store


# Every live store, for the two process-wide hooks below (registered once, not per store).
_stores: weakref.WeakSet[MetricsStore] = weakref.WeakSet()


def flush_all() -> None:
    """Write every store's pending increments (at exit: see also config.celery)."""
    for store in list(_stores):
        store.flush()


atexit.register(flush_all)


def _new_locks_in_child() -> None:
    # A lock another thread of the parent held at the fork stays held in the child for ever.
    for store in list(_stores):
        store._lock = threading.Lock()


os.register_at_fork(after_in_child=_new_locks_in_child)
