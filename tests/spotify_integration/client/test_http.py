"""HTTP plumbing: timeouts, the retry policy, and every requests failure becoming ours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
import responses
from django.test import override_settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from spotify_integration.client import (
    SpotifyClient,
    accounts,
    count_spotify_calls,
    oauth_exchange_code,
)
from spotify_integration.client import http as spotify_http
from spotify_integration.exceptions import SpotifyError, SpotifyNotFound, SpotifyUnavailable
from tests.spotify_integration.fakes import (
    API,
    ISSUED_SECRETS,
    TOKEN_URL,
    error_body,
    secret,
    token_body,
    track_body,
)

TRACK = "4u7EnebtmKWzUH433cf5Qv"


def test_settings_point_the_client_at_another_server(spotify):
    with override_settings(
        SPOTIFY_API_URL="https://staging-proxy.test/v1",
        SPOTIFY_ACCOUNTS_URL="https://staging-accounts.test",
    ):
        spotify.rsps.add(
            responses.POST, "https://staging-accounts.test/api/token", json=token_body()
        )
        spotify.rsps.add(
            responses.GET, f"https://staging-proxy.test/v1/tracks/{TRACK}", json=track_body(TRACK)
        )
        assert SpotifyClient.for_app().track(TRACK)["id"] == TRACK


def test_5xx_is_retried_with_a_bound_then_succeeds(spotify):
    spotify.token()
    url = f"/tracks/{TRACK}"
    spotify.api("GET", "/tracks/{id}", path=url, status=503, body=error_body(503, "Service down"))
    spotify.api("GET", "/tracks/{id}", path=url, body=track_body(TRACK))
    with count_spotify_calls() as calls:
        assert SpotifyClient.for_app().track(TRACK)["name"] == "Bohemian Rhapsody"
    assert [c.status for c in calls.calls if c.endpoint == "GET /tracks/{id}"] == [503, 200]


def test_5xx_retries_are_bounded_then_unavailable(spotify):
    spotify.token()
    spotify.api(
        "GET", "/tracks/{id}", path=f"/tracks/{TRACK}", status=502, body=error_body(502, "Bad gw")
    )
    with pytest.raises(SpotifyUnavailable):
        SpotifyClient.for_app().track(TRACK)
    assert len(spotify.calls_to(API)) == spotify_http.MAX_ATTEMPTS


def test_network_errors_are_retried_then_unavailable(spotify):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body=requests.ConnectionError("down"))
    with count_spotify_calls() as calls, pytest.raises(SpotifyUnavailable):
        SpotifyClient.for_app().track(TRACK)
    assert calls.by_status().get(None) == spotify_http.MAX_ATTEMPTS


def test_timeouts_are_always_set(spotify):
    spotify.token()
    spotify.api("GET", "/tracks/{id}", path=f"/tracks/{TRACK}", body=track_body(TRACK))
    seen: list[object] = []
    original = requests.Session.send

    def spy(self, request, **kwargs):
        seen.append(kwargs.get("timeout"))
        return original(self, request, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(requests.Session, "send", spy)
        SpotifyClient.for_app().track(TRACK)
    assert seen and all(t == 10.0 for t in seen)


# --- Every requests failure becomes ours ---------------------------------------------------

# A failure in transit is retried like a network error; anything else fails at once.
RETRIED = [
    requests.exceptions.ChunkedEncodingError("connection broken mid-body"),
    requests.exceptions.ContentDecodingError("bad gzip"),
]
NOT_RETRIED = [
    requests.exceptions.TooManyRedirects("30 redirects"),
    requests.exceptions.InvalidURL("bad url"),
    requests.exceptions.InvalidHeader("bad header"),
]


@pytest.mark.parametrize("failure", RETRIED, ids=lambda e: type(e).__name__)
def test_failures_in_transit_are_retried_then_unavailable(spotify, failure):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body=failure)
    with count_spotify_calls() as calls, pytest.raises(SpotifyUnavailable) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert exc.value.code == "spotify_unavailable"
    assert calls.by_status().get(None) == spotify_http.MAX_ATTEMPTS


@pytest.mark.parametrize("failure", NOT_RETRIED, ids=lambda e: type(e).__name__)
def test_other_requests_failures_become_a_spotify_error_at_once(spotify, failure):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body=failure)
    with pytest.raises(SpotifyError) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert type(exc.value) is SpotifyError
    assert exc.value.code == "spotify_error" and exc.value.http_status == 502
    assert exc.value.detail == {"endpoint": "GET /tracks/{id}", "error": type(failure).__name__}
    assert exc.value.__suppress_context__  # no requests exception behind ours
    assert len(spotify.calls_to(API)) == 1


def test_a_2xx_body_that_is_not_json_is_a_spotify_error(spotify):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body="<html>maintenance</html>")
    with pytest.raises(SpotifyError) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert exc.value.detail["error"] == "JSONDecodeError"


def test_an_error_status_with_a_body_that_is_not_json_keeps_its_meaning(spotify):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", status=404, body="Not here")
    with pytest.raises(SpotifyNotFound):
        SpotifyClient.for_app().track(TRACK)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (requests.exceptions.ChunkedEncodingError("cut"), SpotifyUnavailable),
        (requests.exceptions.TooManyRedirects("loop"), SpotifyError),
    ],
    ids=["ChunkedEncodingError", "TooManyRedirects"],
)
def test_token_endpoint_failures_become_ours(spotify, failure, expected):
    spotify.rsps.add(responses.POST, TOKEN_URL, body=failure)
    with pytest.raises(expected) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert type(exc.value) is expected
    retried = isinstance(failure, spotify_http.RETRYABLE_ERRORS)
    assert len(spotify.token_calls()) == (spotify_http.MAX_ATTEMPTS if retried else 1)


def test_a_token_body_that_is_not_json_is_a_spotify_error(spotify):
    spotify.rsps.add(responses.POST, TOKEN_URL, body="<html>oops</html>")
    with pytest.raises(SpotifyError) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert exc.value.detail == {"error": "JSONDecodeError"}


def test_the_code_exchange_is_never_retried(spotify):
    spotify.rsps.add(responses.POST, TOKEN_URL, body=requests.ConnectionError("down"))
    with pytest.raises(SpotifyUnavailable):
        oauth_exchange_code(code=secret("code"), code_verifier=secret("verifier"))
    assert len(spotify.token_calls()) == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120), ("2.5", 2), ("0", 1), ("soon", spotify_http.DEFAULT_RETRY_AFTER_SECONDS)],
)
def test_retry_after_is_read_in_whole_seconds(header, seconds):
    assert spotify_http.retry_after({"Retry-After": header}) == seconds


def test_a_missing_retry_after_gets_the_default():
    assert spotify_http.retry_after({}) == spotify_http.DEFAULT_RETRY_AFTER_SECONDS
    assert spotify_http.retry_after(None) == spotify_http.DEFAULT_RETRY_AFTER_SECONDS


# --- No error report shows a token ---------------------------------------------------------


def _our_frames_show_no_secret(exc_info: pytest.ExceptionInfo[BaseException]) -> list[str]:
    """Render Django's error report for ``exc_info``; return the cleansed variables of our
    frames after checking none of our frames shows an issued token."""
    reporter = ExceptionReporter(None, exc_info.type, exc_info.value, exc_info.tb)
    cleansed: list[str] = []
    for frame in reporter.get_traceback_frames():
        if "/spotify_integration/" not in frame["filename"]:
            continue  # requests' and spotipy's frames are not ours to mark
        for name, value in frame["vars"]:
            assert not any(s in str(value) for s in ISSUED_SECRETS), (frame["function"], name)
            if value == SafeExceptionReporterFilter.cleansed_substitute:
                cleansed.append(name)
    return cleansed


def test_an_unexpected_failure_during_an_api_call_shows_no_token(spotify):
    spotify.token()
    spotify.rsps.add(responses.GET, f"{API}tracks/{TRACK}", body=RuntimeError("a bug"))
    with pytest.raises(RuntimeError) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert {"access_token", "token"} <= set(_our_frames_show_no_secret(exc))


def test_a_failure_after_the_app_token_arrives_shows_no_token(spotify, monkeypatch):
    # Given a lock whose release fails (Redis went away) after the new app token is fetched
    spotify.token()

    @contextmanager
    def lock_lost_on_release(name: str, *, timeout: float, wait: float) -> Iterator[None]:
        yield
        raise RuntimeError("the lock could not be released")

    monkeypatch.setattr(accounts, "cache_lock", lock_lost_on_release)
    # When the failure reaches an error report, then no frame of ours shows the token
    with pytest.raises(RuntimeError) as exc:
        SpotifyClient.for_app().track(TRACK)
    assert "token" in _our_frames_show_no_secret(exc)


def test_an_unexpected_failure_during_a_refresh_shows_no_token(
    spotify, user, make_connection, token_store
):
    conn = make_connection(user, expires_in=10)
    spotify.rsps.add(responses.POST, TOKEN_URL, body=RuntimeError("a bug"))
    with pytest.raises(RuntimeError) as exc:
        SpotifyClient.for_connection(conn, token_store=token_store).me()
    assert "refresh_token" in _our_frames_show_no_secret(exc)


def test_an_unexpected_failure_during_the_code_exchange_shows_no_code(spotify):
    spotify.rsps.add(responses.POST, TOKEN_URL, body=RuntimeError("a bug"))
    with pytest.raises(RuntimeError) as exc:
        oauth_exchange_code(code=secret("code"), code_verifier=secret("verifier"))
    assert {"code", "code_verifier", "call"} <= set(_our_frames_show_no_secret(exc))
