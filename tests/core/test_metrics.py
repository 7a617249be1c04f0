"""/metrics: figures whole across processes (Redis), the text format, access, outages."""

from __future__ import annotations

import time

import pytest
import redis
import responses
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from core.metrics import SPECS, MetricsCollector, MetricsStore

TRACK = "4uLU6hMCjMI75M1A2tKUQC"


def _needs_redis() -> str:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): without it the figures are one process's")
    return str(settings.REDIS_URL)


def _exposition(store: MetricsStore) -> dict[str, dict[tuple[str, tuple], float]]:
    """Parse the text format (as Prometheus would) into {family: {(sample, labels): value}}."""
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(store))
    text = generate_latest(registry).decode()
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


@pytest.fixture
def store_prefix() -> str:
    return f"test-metrics-{time.monotonic_ns()}:"


def test_figures_add_up_across_processes(store_prefix):
    url = _needs_redis()
    # Given two recorders with their own Redis connections, as two worker processes have
    first = MetricsStore(redis=redis.Redis.from_url(url), names=SPECS, prefix=store_prefix)
    second = MetricsStore(redis=redis.Redis.from_url(url), names=SPECS, prefix=store_prefix)
    reader = MetricsStore(redis=redis.Redis.from_url(url), names=SPECS, prefix=store_prefix)
    try:
        for store, calls, seconds in ((first, 3, 2.5), (second, 4, 100.0)):
            for _ in range(calls):
                store.add("encore_spotify_calls", {'["GET /search","200"]': 1})
            store.add("encore_spotify_budget_wait_seconds", {'["enrichment"]': seconds})
            store.add_many(
                {
                    "encore_sync_job_duration_seconds": {
                        'b1|["spotify_refresh","succeeded"]': 1,
                        'sum|["spotify_refresh","succeeded"]': seconds,
                        'count|["spotify_refresh","succeeded"]': 1,
                    }
                }
            )
        # When Prometheus scrapes a third process
        figures = _exposition(reader)
    finally:
        reader.clear()
    # Then it sees both processes' figures
    calls = figures["encore_spotify_calls"]
    assert (
        calls[("encore_spotify_calls_total", (("endpoint", "GET /search"), ("status", "200")))] == 7
    )
    waited = figures["encore_spotify_budget_wait_seconds"]
    assert waited[("encore_spotify_budget_wait_seconds_total", (("lane", "enrichment"),))] == 102.5
    durations = figures["encore_sync_job_duration_seconds"]
    labels = (("kind", "spotify_refresh"), ("outcome", "succeeded"))
    assert durations[("encore_sync_job_duration_seconds_count", labels)] == 2
    assert durations[("encore_sync_job_duration_seconds_sum", labels)] == 102.5
    assert (
        durations[
            ("encore_sync_job_duration_seconds_bucket", (*labels[:1], ("le", "5.0"), *labels[1:]))
        ]
        == 2
    )


def test_recording_functions_write_whole_families():
    store = MetricsStore(redis=None, names=SPECS)
    original = metrics._store
    metrics._store = store
    try:
        metrics.record_spotify_call(endpoint="GET /tracks/{id}", status=404)
        metrics.record_spotify_call(endpoint="GET /tracks/{id}", status=None)
        metrics.record_budget_wait(lane="interactive", seconds=0.25, granted=True)
        metrics.record_budget_wait(lane="enrichment", seconds=2, granted=False)
        metrics.record_pause(reason="QUOTA_EXCEEDED")
        metrics.record_job(kind="probe", outcome="failed", seconds=7)
        metrics.record_job(kind="probe", outcome="failed", seconds=99_999)
        metrics.record_match_decision("needs_review")
        figures = _exposition(store)
    finally:
        metrics._store = original
    get = lambda family, sample, **labels: figures[family][(sample, tuple(sorted(labels.items())))]  # noqa: E731
    assert (
        get(
            "encore_spotify_calls",
            "encore_spotify_calls_total",
            endpoint="GET /tracks/{id}",
            status="none",
        )
        == 1
    )
    assert (
        get(
            "encore_spotify_budget_waits",
            "encore_spotify_budget_waits_total",
            lane="enrichment",
            outcome="refused",
        )
        == 1
    )
    assert get("encore_spotify_pauses", "encore_spotify_pauses_total", reason="QUOTA_EXCEEDED") == 1
    assert (
        get("encore_match_decisions", "encore_match_decisions_total", outcome="needs_review") == 1
    )
    hist = "encore_sync_job_duration_seconds"
    assert get(hist, f"{hist}_bucket", kind="probe", outcome="failed", le="15.0") == 1
    assert get(hist, f"{hist}_bucket", kind="probe", outcome="failed", le="+Inf") == 2
    assert get("encore_sync_jobs", "encore_sync_jobs_total", kind="probe", outcome="failed") == 2


# --- Access ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_without_settings_only_signed_in_staff_see_metrics(client, django_user_model):
    assert client.get("/metrics").status_code == 404
    user = django_user_model.objects.create_user("someone", password="pw")
    client.force_login(user)
    assert client.get("/metrics").status_code == 404
    user.is_staff = True
    user.save()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "# TYPE encore_spotify_calls_total counter" in response.content.decode()


@pytest.mark.django_db
def test_a_bearer_token_opens_metrics(client, settings):
    settings.METRICS_TOKEN = "scrape-me-please"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-please")
    assert response.status_code == 200
    families = {f.name for f in text_string_to_metric_families(response.content.decode())}
    assert {"encore_spotify_calls", "encore_sync_job_duration_seconds"} <= families


@pytest.mark.django_db
def test_a_token_that_is_not_ascii_is_refused_not_a_server_error(client, settings):
    # hmac.compare_digest refuses str with non-ASCII characters (TypeError): any scraper or
    # scanner sending such a header must get 401, not a 500.
    settings.METRICS_TOKEN = "scrape-me-please"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-pléase").status_code == 401
    settings.METRICS_TOKEN = "jeton-à-gratter"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


@pytest.mark.django_db
def test_an_allow_list_opens_metrics_to_its_addresses(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "not-an-address", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 404
    # gunicorn bound to [::] reports IPv4 clients as IPv4-mapped IPv6 addresses
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.2.0.1").status_code == 404


# --- Outages -----------------------------------------------------------------------------------
def test_a_redis_outage_does_not_break_or_slow_a_spotify_call(caplog):
    from spotify_integration.client import SpotifyClient
    from spotify_integration.ratelimit import spotify_limiter
    from tests.spotify_integration.fakes import FakeSpotify, token_body, track_body

    # Given the metrics' Redis is down (nothing listens on port 1)
    dead = metrics.metrics_redis("redis://127.0.0.1:1/0")
    if dead is None:
        pytest.skip("needs django-redis as the cache: without it metrics live in the process")
    original = metrics._store
    metrics._store = MetricsStore(redis=dead, names=SPECS, prefix="down:")
    spotify_limiter().reset()
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake = FakeSpotify(rsps)
            fake.token(token_body(refresh=False, scope=None))
            fake.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
            # When the client calls Spotify several times
            started = time.monotonic()
            tracks = [SpotifyClient.for_app().track(TRACK) for _ in range(5)]
            elapsed = time.monotonic() - started
    finally:
        metrics._store = original
        spotify_limiter().reset()
    # Then every call got its answer; the outage was logged once, not paid for on every call
    assert [t["id"] for t in tracks] == [TRACK] * 5
    assert elapsed < 2
    assert sum("metrics: Redis unavailable" in r.getMessage() for r in caplog.records) == 1
