"""A connect completing while Spotify is paused keeps the grant; a job reads /me later.

Real PostgreSQL and Redis; Spotify at the wire; the job is run by the runner as a worker
would run it.
"""

from __future__ import annotations

import pytest
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.ratelimit import spotify_pause, spotify_pause_clear
from spotify_integration.selectors import connection_health
from spotify_integration.services.profile import (
    LINKED_ELSEWHERE_REASON,
    connection_profile_complete,
)
from spotify_integration.vault import token_decrypt
from sync.models import JobStatus, SyncJob
from sync.services.jobs import job_create
from sync.services.runner import job_run
from tests.spotify_integration.factories import SpotifyConnectionFactory, UserFactory
from tests.spotify_integration.fakes import API, error_body, me_body, secret, token_body
from tests.spotify_integration.test_apis import CALLBACK, pkce_checking_token_endpoint, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _connect_during_a_pause(browser, spotify, *, me_status: int = 429) -> tuple[dict, object]:
    params = start(browser)
    tokens = token_body()
    pkce_checking_token_endpoint(spotify, params["code_challenge"], tokens)
    spotify.api(
        "GET",
        "/me",
        status=me_status,
        body=error_body(me_status, "Too many" if me_status == 429 else "Unavailable"),
        headers={"Retry-After": "120"} if me_status == 429 else None,
    )
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        response = browser.get(CALLBACK, {"state": params["state"], "code": secret("code")})
    return tokens, (response, queued)


def _run_profile_job(user) -> SyncJob:
    job = SyncJob.objects.get(kind="spotify_profile_fetch", target_user=user)
    job_run(job_id=job.pk, schedule_retry=False)
    job.refresh_from_db()
    return job


def test_a_429_on_me_stores_the_grant_with_the_profile_pending_and_a_notice(browser, user, spotify):
    tokens, (response, queued) = _connect_during_a_pause(browser, spotify)

    # The user lands on their page, not on a 429, and the grant is kept
    assert response.status_code == 302 and response["Location"] == "/spotify/"
    conn = SpotifyConnection.objects.get(user=user)
    assert conn.profile_pending and conn.account_id is None
    assert conn.status == ConnectionStatus.ACTIVE
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == tokens["refresh_token"]
    assert connection_health(conn).state == "profile_pending"
    # The profile job is created for this user and sent to the workers on commit
    job = SyncJob.objects.get(kind="spotify_profile_fetch")
    assert job.target_user_id == user.pk and job.status == JobStatus.PENDING
    assert len(queued) == 1
    page = browser.get("/spotify/")
    assert b"Spotify asked Encore to pause for" in page.content
    assert b"profile pending" in page.content
    status = browser.get("/api/spotify/status/").json()
    assert status["state"] == "profile_pending" and status["profile_pending"] is True


def test_an_unavailable_me_also_keeps_the_grant(browser, user, spotify):
    _, (response, _) = _connect_during_a_pause(browser, spotify, me_status=503)
    assert response.status_code == 302
    assert SpotifyConnection.objects.get(user=user).profile_pending


def test_the_job_waits_out_the_pause_then_links_the_account(browser, user, spotify):
    _connect_during_a_pause(browser, spotify)
    spotify.rsps.reset()
    spotify.api("GET", "/me", body=me_body("acct-late", "Late Listener"))

    # While Spotify is still paused the job makes no call and waits (not a failed attempt)
    spotify_pause(retry_after=300)
    job = _run_profile_job(user)
    assert job.status == JobStatus.PENDING and job.next_attempt_at is not None
    assert not spotify.calls_to(API)

    # When the pause ends (the job is due again), /me is read and the account linked
    spotify_pause_clear()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    job = _run_profile_job(user)
    assert job.status == JobStatus.SUCCEEDED and job.result == {"outcome": "linked"}
    assert job.spotify_calls == 1
    conn = SpotifyConnection.objects.get(user=user)
    assert (conn.account_id, conn.display_name, conn.profile_pending) == (
        "acct-late",
        "Late Listener",
        False,
    )
    assert connection_health(conn).state == "active"


def test_running_the_job_again_makes_no_call(browser, user, spotify):
    _connect_during_a_pause(browser, spotify)
    spotify.rsps.reset()
    spotify.api("GET", "/me", body=me_body("acct-late"))
    spotify_pause_clear()
    _run_profile_job(user)
    SyncJob.objects.update(status=JobStatus.SUCCEEDED)
    again = job_create(kind="spotify_profile_fetch", params={}, trigger="api", target_user=user)
    job_run(job_id=again.job.pk, schedule_retry=False)
    again.job.refresh_from_db()
    assert again.job.result == {"outcome": "not_pending"}
    assert len(spotify.calls_to(API)) == 1


def test_an_account_linked_to_another_user_is_never_linked_twice(browser, user, spotify):
    other = SpotifyConnectionFactory(account_id="acct-taken")
    _connect_during_a_pause(browser, spotify)
    spotify.rsps.reset()
    spotify.api("GET", "/me", body=me_body("acct-taken"))
    spotify_pause_clear()

    job = _run_profile_job(user)

    assert job.result == {"outcome": "linked_elsewhere"}
    conn = SpotifyConnection.objects.get(user=user)
    assert conn.account_id is None and conn.status == ConnectionStatus.NEEDS_REAUTH
    assert conn.refresh_token_encrypted == "" and conn.access_token_encrypted == ""
    health = connection_health(conn)
    assert health.state == "needs_reauth" and LINKED_ELSEWHERE_REASON in health.reason
    other.refresh_from_db()
    assert other.user_id != user.pk and other.status == ConnectionStatus.ACTIVE
    assert SpotifyConnection.objects.filter(account_id="acct-taken").count() == 1


def test_a_reconnect_to_another_account_replaces_the_connection():
    # The user's row belonged to acct-old; the pending grant turns out to be acct-new
    user = UserFactory()
    old = SpotifyConnectionFactory(user=user, account_id="acct-old", profile_pending=True)
    assert connection_profile_complete(connection_id=old.pk, profile=me_body("acct-new"))
    conn = SpotifyConnection.objects.get(user=user)
    assert conn.account_id == "acct-new" and conn.pk != old.pk
    assert conn.refresh_token_encrypted == old.refresh_token_encrypted
    assert not SpotifyConnection.objects.filter(account_id="acct-old").exists()


def test_the_same_account_again_keeps_the_row():
    old = SpotifyConnectionFactory(account_id="acct-same", profile_pending=True)
    outcome = connection_profile_complete(connection_id=old.pk, profile=me_body("acct-same"))
    assert outcome == "linked"
    conn = SpotifyConnection.objects.get(pk=old.pk)
    assert not conn.profile_pending
    assert connection_profile_complete(connection_id=old.pk, profile=me_body()) == "not_pending"
