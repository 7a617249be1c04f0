"""Operational metrics, whole across every process: recorded here, exposed at ``/metrics``.

gunicorn and Celery run several processes on several machines, and a Prometheus scrape
reaches one of them; so with Redis (``REDIS_URL``) every figure is kept in Redis, one hash per
metric (``HINCRBYFLOAT``; a histogram's buckets are counters of their own), and
the scrape reads them all back through a prometheus_client collector. Without Redis (the
embedded default, one process) they are kept in the process. ``core.metrics_store`` keeps
them: each process writes its increments at most once every ``METRICS_FLUSH_SECONDS``.

Recording never breaks or slows its caller: a Redis error is logged (at most once a minute)
and swallowed, and nothing is recorded for the next ``BACKOFF_SECONDS``.

Labels are fixed vocabularies (endpoint templates, statuses, lanes, kinds, outcomes), never
ids, tokens or free text.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from core.metrics_store import MetricsStore, metrics_redis

logger = logging.getLogger(__name__)

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


def _field(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


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
                # The cache's key prefix keeps test workers and deployments apart.
                _store = MetricsStore(
                    redis=metrics_redis(),
                    names=SPECS,
                    prefix=cache.make_key(""),
                    flush_seconds=settings.METRICS_FLUSH_SECONDS,
                )
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
