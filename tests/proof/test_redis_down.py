"""Redis stopped or hung (a throwaway redis-server, never the shared one).

What it proves: search keeps answering from PostgreSQL; /healthz says 503 quickly; a job
triggered while the broker is down is kept (nothing lost) and sent once Redis is back.
"""

from __future__ import annotations

import time

import pytest
import redis

from core.shared_state import cache_failure_reset
from sync.models import JobStatus, SyncJob
from sync.services.jobs import NOT_ENQUEUED
from sync.services.reaper import jobs_reap_stale
from tests.proof.services import ThrowawayRedis

pytestmark = [pytest.mark.faults, pytest.mark.loopback]


def _search(api_client):
    started = time.monotonic()
    response = api_client.get("/api/songs/search/", {"q": "bohemain rapsody", "limit": 3})
    return response, time.monotonic() - started


@pytest.mark.django_db
def test_search_answers_from_postgresql_with_redis_killed(on_redis, api_client, demo_catalog):
    assert _search(api_client)[0].status_code == 200  # warm: metrics and cache on Redis

    on_redis.kill()
    response, seconds = _search(api_client)

    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"][0]["song"]["title"] == "Bohemian Rhapsody"
    assert seconds < 3


@pytest.mark.django_db
def test_search_answers_with_redis_hung(on_redis, api_client, demo_catalog):
    on_redis.pause()
    try:
        response, seconds = _search(api_client)
    finally:
        on_redis.resume()

    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"][0]["song"]["title"] == "Bohemian Rhapsody"
    assert seconds < 6  # the metrics write gives up after its short socket timeout


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_healthz_is_503_quickly_when_redis_is_down(on_redis, client, fault):
    assert client.get("/healthz").status_code == 200

    on_redis.kill() if fault == "killed" else on_redis.pause()
    started = time.monotonic()
    response = client.get("/healthz")
    seconds = time.monotonic() - started

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False and body["checks"]["database"]["ok"] is True
    assert seconds < 5


def _queued(server: ThrowawayRedis) -> int:
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    return int(client.llen("celery"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_job_triggered_while_the_broker_is_down_says_so_and_is_sent_when_it_is_back(
    on_redis, api_client, staff_user, fault
):
    api_client.force_authenticate(staff_user)
    on_redis.kill() if fault == "killed" else on_redis.pause()

    started = time.monotonic()
    response = api_client.post(
        "/api/admin/sync-jobs/",
        {"kind": "worker_check", "params": {"items": 10}},
        format="json",
    )
    seconds = time.monotonic() - started

    # A clear answer, within seconds (not gunicorn's 30 s timeout), never a 5xx page
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["enqueued"] is False and body["error"]["code"] == NOT_ENQUEUED
    assert seconds < 10
    # Nothing lost: the job is there, waiting to be sent
    job = SyncJob.objects.get(pk=body["id"])
    assert job.status == JobStatus.PENDING

    # Redis back: the reaper's next run sends it
    if fault == "killed":
        on_redis.start()
    else:
        on_redis.resume()
    cache_failure_reset()  # the few seconds a process skips a broker that just failed
    report = jobs_reap_stale()
    assert job.pk in report.resent
    job.refresh_from_db()
    assert job.error_code == "" and job.status == JobStatus.PENDING
    # Sent (a hung server may also deliver the publish that timed out: the claim makes a
    # second delivery harmless, tests/sync/test_worker.py)
    assert _queued(on_redis) >= 1
