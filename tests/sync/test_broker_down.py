"""A refused or hung broker: the job trigger answers within seconds, says the job was not sent,
and the reaper sends it at its next run once the broker is back (issue 14)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
from django.urls import reverse

from core.shared_state import cache_failure_reset
from sync.models import JobStatus, SyncJob
from sync.services.jobs import NOT_ENQUEUED
from sync.services.reaper import jobs_reap_stale
from tests.faults import hung_server

# Transactions commit for real: a job is enqueued on commit, as in production.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.loopback]

JOBS = "/api/admin/sync-jobs/"


@contextlib.contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Celery publishing (not eagerly) to ``url``; the app's connection pools start afresh."""
    from config.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    app._after_fork()  # drop the pooled connections to the real broker
    cache_failure_reset()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        app._after_fork()
        cache_failure_reset()


@contextlib.contextmanager
def broker_refused() -> Iterator[None]:
    with broker_at("redis://127.0.0.1:1/0"):
        yield


@contextlib.contextmanager
def broker_hung() -> Iterator[None]:
    with hung_server() as port, broker_at(f"redis://127.0.0.1:{port}/0"):
        yield


@pytest.fixture
def staff_client(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    return api_client


@pytest.mark.parametrize("fault", [broker_refused, broker_hung])
def test_a_job_the_broker_did_not_take_says_so_quickly(staff_client, probe_kind, fault):
    with fault():
        started = time.monotonic()
        first = staff_client.post(JOBS, {"kind": "probe"}, format="json")
        took = time.monotonic() - started
        # A second trigger in the same process does not wait for the broker again.
        started = time.monotonic()
        second = staff_client.post(JOBS, {"kind": "worker_check"}, format="json")
        took_again = time.monotonic() - started
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "pending" and body["enqueued"] is False
    assert body["error"]["code"] == NOT_ENQUEUED and "broker" in body["error"]["message"]
    assert took < 10.0 and took_again < 1.0
    assert second.json()["enqueued"] is False


def test_the_reaper_sends_an_unsent_job_at_its_next_run(staff_client, probe_kind):
    with broker_refused():
        job_id = staff_client.post(JOBS, {"kind": "probe"}, format="json").json()["id"]
    # The broker is back (eager here): the reaper does not wait SYNC_PENDING_RESEND_AFTER.
    report = jobs_reap_stale()
    assert report.resent == [job_id]
    job = SyncJob.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED and job.error_code == ""


def test_the_console_shows_an_unsent_job(client, staff_user, probe_kind):
    client.force_login(staff_user)
    with broker_refused():
        data = {"kind": "worker_check", "worker_check-items": "5", "worker_check-batch_size": "2",
                "worker_check-pause_ms": "0"}  # fmt: skip
        response = client.post(reverse("admin:sync_syncjob_start"), data, follow=True)
    page = response.content.decode()
    assert "is saved but NOT sent" in page and "not sent: broker unavailable" in page
