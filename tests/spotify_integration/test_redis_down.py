"""With Redis refused or hung, the Spotify endpoints answer quickly: status works without the
shared state, connect and callback say 503 (issue 14)."""

from __future__ import annotations

import time

import pytest

from tests.faults import redis_hung, redis_refused

pytestmark = [pytest.mark.django_db, pytest.mark.loopback]

STATUS = "/api/spotify/status/"
CONNECT = "/api/spotify/connect/"
CALLBACK = "/api/spotify/callback/"


@pytest.fixture
def signed_in(api_client, user):
    api_client.force_login(user)
    return api_client


@pytest.mark.parametrize("fault", [redis_refused, redis_hung])
def test_status_works_without_redis(signed_in, fault):
    with fault():
        started = time.monotonic()
        first = signed_in.get(STATUS)
        second = signed_in.get(STATUS)  # the failure is remembered: no second timeout
        elapsed = time.monotonic() - started
    assert first.status_code == 200 and second.status_code == 200, first.content
    assert first.json()["paused_for_seconds"] == 0
    assert elapsed < 1.5


@pytest.mark.parametrize("fault", [redis_refused, redis_hung])
def test_connect_is_a_clear_503_without_redis(signed_in, fault):
    with fault():
        started = time.monotonic()
        response = signed_in.post(CONNECT)
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "Redis" in response.json()["error"]["message"] and response["Retry-After"]
    assert elapsed < 2.0


@pytest.mark.parametrize("fault", [redis_refused, redis_hung])
def test_callback_is_a_clear_503_without_redis(signed_in, fault):
    with fault():
        response = signed_in.get(CALLBACK, {"state": "s" * 43, "code": "c" * 20})
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"


def test_callback_shows_a_page_to_a_browser_without_redis(signed_in):
    with redis_refused():
        response = signed_in.get(
            CALLBACK, {"state": "s" * 43, "code": "c" * 20}, HTTP_ACCEPT="text/html"
        )
    assert response.status_code == 503
    assert "Redis" in response.content.decode()
