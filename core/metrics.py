"""Operational metrics, whole across every process: recorded here, exposed at ``/metrics``.

gunicorn and Celery run several processes on several machines, and a Prometheus scrape
reaches one of them; so with Redis (``REDIS_URL``) every figure is kept in Redis, one hash per
metric (``HINCRBYFLOAT``; a histogram's buckets are counters of their own), and
the scrape reads them all back through a prometheus_client collector. Without Redis (the
embedded default, one process) they are kept in the process.

Recording never breaks or slows its caller: one pipelined round trip per call; a Redis error
is logged (at most once a minute) and swallowed, and nothing is recorded for the next
``BACKOFF_SECONDS``, so a Redis outage costs no connection timeout per call.

Labels are fixed vocabularies (endpoint templates, statuses, lanes, kinds, outcomes), never
ids, tokens or free text.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 30.0  # after a Redis error, record nothing to Redis for this long
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600)
SEARCH_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5)


@dataclass(frozen=True)
class Spec:
    name: str  # without the _total suffix for counters (prometheus_client adds it)
    kind: str  # "counter" or "histogram"
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec(
            "encore_spotify_calls",
            "counter",
            "HTTP requests to Spotify (Web API and accounts service), by endpoint and status.",
            ("endpoint", "status"),
        ),
        Spec(
            "encore_spotify_budget_waits",
            "counter",
            "Calls that waited for the shared budget, by lane and whether they got a slot.",
            ("lane", "outcome"),
        ),
        Spec(
            "encore_spotify_budget_wait_seconds",
            "counter",
            "Seconds spent waiting for the shared budget, by lane.",
            ("lane",),
        ),
        Spec(
            "encore_spotify_pauses",
            "counter",
            "429 answers from Spotify that paused every process, by reason.",
            ("reason",),
        ),
        Spec(
            "encore_sync_jobs",
            "counter",
            "Job attempts that ended, by kind and outcome.",
            ("kind", "outcome"),
        ),
        Spec(
            "encore_sync_job_duration_seconds",
            "histogram",
            "Duration of job attempts, by kind and outcome.",
            ("kind", "outcome"),
            DURATION_BUCKETS,
        ),
        Spec(
            "encore_match_decisions",
            "counter",
            "Spotify match decisions, by outcome (matched, needs_review, no_match, ...).",
            ("outcome",),
        ),
        Spec(
            "encore_search_duration_seconds",
            "histogram",
            "Search latency by source (local, spotify, request) and status (ok, cached, ...).",
            ("source", "status"),
            SEARCH_BUCKETS,
        ),
        Spec(
            "encore_search_spotify_cache",
            "counter",
            "Hybrid search's Spotify cache look-ups, by kind (search, track) and outcome.",
            ("kind", "outcome"),
        ),
        Spec(
            "encore_library_events",
            "counter",
            "Users' libraries: plays written by source (plays_api, plays_export), gaps found "
            "(gap_found) and filled by an export import (gap_filled).",
            ("event",),
        ),
        Spec(
            "encore_circuit_breaker_transitions",
            "counter",
            "Circuit breaker state changes, by breaker and the state entered.",
            ("breaker", "state"),
        ),
        Spec(
            "encore_spotify_token_refreshes",
            "counter",
            "Users' token refreshes by outcome (ok, invalid_grant, storm, paused).",
            ("outcome",),
        ),
    )
}


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


def _field(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


class MetricsStore:
    """Where the figures live: Redis hashes shared by every process, or this process's memory.

    Each metric is one hash ``<prefix>metrics:<name>``; a field is the JSON list of label
    values (for a histogram prefixed ``b<i>|`` per bucket, ``sum|`` and ``count|``).
    """

    def __init__(self, *, redis: Any | None, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._local: dict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._logged_at = 0.0

    def key(self, name: str) -> str:
        return f"{self._prefix}metrics:{name}"

    def add(self, name: str, increments: Mapping[str, float]) -> None:
        """Add ``increments`` (field -> amount) to metric ``name``."""
        self.add_many({name: increments})

    def add_many(self, changes: Mapping[str, Mapping[str, float]]) -> None:
        """Add to several metrics at once (metric -> field -> amount): one round trip."""
        if self._redis is None:
            with self._lock:
                for name, increments in changes.items():
                    for field_name, amount in increments.items():
                        self._local[name][field_name] += amount
            return
        if time.monotonic() < self._down_until:
            return
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

    def read(self) -> dict[str, dict[str, float]]:
        """Every metric's fields and values (one pipelined round trip with Redis)."""
        names = list(SPECS)
        if self._redis is None:
            with self._lock:
                return {name: dict(self._local.get(name, {})) for name in names}
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.key(name))
        raw = pipe.execute()
        return {
            name: {_text(k): float(_text(v)) for k, v in fields.items()}
            for name, fields in zip(names, raw, strict=True)
        }

    def clear(self) -> None:
        """Forget every figure (tests)."""
        if self._redis is not None:
            self._redis.delete(*(self.key(name) for name in SPECS))
        with self._lock:
            self._local.clear()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class MetricsCollector(Collector):
    """A prometheus_client collector over a :class:`MetricsStore`: counters and histograms."""

    def __init__(self, store: MetricsStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        data = self.store.read()
        for spec in SPECS.values():
            fields = data.get(spec.name, {})
            if spec.kind == "counter":
                family = CounterMetricFamily(spec.name, spec.help, labels=list(spec.labels))
                for field_name, value in sorted(fields.items()):
                    family.add_metric(json.loads(field_name), value)
                yield family
            else:
                yield self._histogram(spec, fields)

    @staticmethod
    def _histogram(spec: Spec, fields: dict[str, float]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(spec.name, spec.help, labels=list(spec.labels))
        series: dict[str, dict[str, float]] = defaultdict(dict)
        for field_name, value in fields.items():
            part, _, labels = field_name.partition("|")
            series[labels][part] = value
        for labels, parts in sorted(series.items()):
            cumulative, buckets = 0.0, []
            for i, bound in enumerate(spec.buckets):
                cumulative += parts.get(f"b{i}", 0.0)
                buckets.append((_bound(bound), cumulative))
            buckets.append(("+Inf", parts.get("count", 0.0)))
            family.add_metric(json.loads(labels), buckets, parts.get("sum", 0.0))
        return family


def _bound(value: float) -> str:
    return str(floatToGoString(value))  # "5.0", as prometheus_client writes its own buckets


_store: MetricsStore | None = None
_store_lock = threading.Lock()


def metrics_store() -> MetricsStore:
    """This process's store (Redis-backed when the cache is Redis), built once."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                client = metrics_redis()
                # The cache's key prefix keeps test workers and deployments apart.
                _store = MetricsStore(redis=client, prefix=cache.make_key(""))
    return _store


def metrics_reset_store() -> None:
    """Drop the cached store (tests that switch settings)."""
    global _store
    _store = None


def metrics_exposition() -> tuple[bytes, str]:
    """The Prometheus text format of every figure, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(metrics_store()))
    return generate_latest(registry), CONTENT_TYPE_LATEST


# --- What the apps record ------------------------------------------------------------------


def _safe(record: Any) -> Any:
    """Run a recording function, never letting an error reach the caller."""

    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            record(*args, **kwargs)
        except Exception:  # a bug in recording must not break a Spotify call or a job
            logger.warning("metrics: could not record %s", record.__name__, exc_info=True)

    wrapper.__name__ = record.__name__
    wrapper.__doc__ = record.__doc__
    return wrapper


def _counter(name: str, values: tuple[str, ...], amount: float = 1) -> None:
    metrics_store().add(name, {_field(values): amount})


@_safe
def record_spotify_call(*, endpoint: str, status: int | None) -> None:
    """One HTTP request to Spotify; ``endpoint`` is a template ("GET /tracks/{id}")."""
    _counter("encore_spotify_calls", (endpoint, str(status) if status is not None else "none"))


@_safe
def record_budget_wait(*, lane: str, seconds: float, granted: bool) -> None:
    """A call that waited ``seconds`` for the shared budget (then got a slot, or gave up)."""
    store = metrics_store()
    outcome = "granted" if granted else "refused"
    store.add_many(
        {
            "encore_spotify_budget_waits": {_field((str(lane), outcome)): 1},
            "encore_spotify_budget_wait_seconds": {_field((str(lane),)): round(seconds, 6)},
        }
    )


@_safe
def record_pause(*, reason: str) -> None:
    """A 429 from Spotify paused every process (``reason``: QUOTA_EXCEEDED, RATE_LIMITED)."""
    _counter("encore_spotify_pauses", (reason,))


def _histogram(name: str, labels: str, seconds: float) -> dict[str, float]:
    index = next((i for i, b in enumerate(SPECS[name].buckets) if seconds <= b), None)
    histogram = {f"sum|{labels}": round(seconds, 6), f"count|{labels}": 1}
    if index is not None:
        histogram[f"b{index}|{labels}"] = 1
    return histogram


@_safe
def record_job(*, kind: str, outcome: str, seconds: float) -> None:
    """A job attempt ended with ``outcome`` after ``seconds``."""
    name = "encore_sync_job_duration_seconds"
    labels = _field((kind, outcome))
    metrics_store().add_many(
        {"encore_sync_jobs": {labels: 1}, name: _histogram(name, labels, seconds)}
    )


@_safe
def record_match_decision(outcome: str) -> None:
    """One match decision of the enrichment (matched, needs_review, no_match, ...)."""
    _counter("encore_match_decisions", (outcome,))


@_safe
def record_search(
    *, timings: Mapping[tuple[str, str], float], cache_hit: bool | None = None
) -> None:
    """One search: seconds per (source, status), e.g. ("local", "ok"), ("spotify", "timeout");
    ``cache_hit``: its look-up in the Spotify search cache, when it made one (counted in the
    same round trip as the timings, as ``record_search_cache`` would)."""
    name = "encore_search_duration_seconds"
    histogram: dict[str, float] = {}
    for (source, status), seconds in timings.items():
        for key, value in _histogram(name, _field((source, status)), seconds).items():
            histogram[key] = histogram.get(key, 0) + value
    changes: dict[str, dict[str, float]] = {name: histogram}
    if cache_hit is not None:
        cache_field = _field(("search", "hit" if cache_hit else "miss"))
        changes["encore_search_spotify_cache"] = {cache_field: 1}
    metrics_store().add_many(changes)


@_safe
def record_search_cache(*, kind: str, hit: bool) -> None:
    """A look-up in hybrid search's Spotify cache (``kind``: search, track)."""
    _counter("encore_search_spotify_cache", (kind, "hit" if hit else "miss"))


@_safe
def record_breaker_transition(*, breaker: str, state: str) -> None:
    """A circuit breaker entered ``state`` (open, closed)."""
    _counter("encore_circuit_breaker_transitions", (breaker, state))


@_safe
def record_library_event(*, event: str, amount: float = 1) -> None:
    """Users' libraries (issue 12): ``event`` is plays_api, plays_export, gap_found or
    gap_filled; library syncs themselves are counted as jobs (encore_sync_jobs)."""
    _counter("encore_library_events", (event,), amount)


@_safe
def record_token_refresh(*, outcome: str) -> None:
    """A user's token refresh: ``ok``, ``invalid_grant`` (one connection marked), ``storm``
    (many invalid_grants: refreshes paused), ``paused`` (refused while paused)."""
    _counter("encore_spotify_token_refreshes", (outcome,))
