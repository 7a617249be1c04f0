"""HTTP plumbing for every request to Spotify: sessions, timeouts, the retry policy, Retry-After.

* Sessions never retry by themselves (requests' default adapter, ``Retry(0, read=False)``):
  urllib3's default status list holds 429, and it then sleeps for the whole Retry-After, which
  can be hours (docs/spotify-api.md).
* Every request has ``SPOTIFY_REQUEST_TIMEOUT``.
* The retry policy: 5xx answers and failures in transit (:data:`RETRYABLE_ERRORS`) are tried
  at most ``MAX_ATTEMPTS`` times with exponential backoff; everything else fails at once.
* :func:`request_error` is the one place a ``requests`` exception becomes ours: no requests
  exception leaves the client package.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from spotify_integration.exceptions import SpotifyError, SpotifyNotConfigured, SpotifyUnavailable

MAX_ATTEMPTS = 3  # first try + 2 retries, for 5xx and failures in transit only
RETRY_BACKOFF_SECONDS = 0.5  # doubled per retry, with jitter; tests set it to 0
DEFAULT_RETRY_AFTER_SECONDS = 5  # a 429 without Retry-After (should not happen)

# Failures in transit: the request may not have arrived, or the answer was cut or mangled on
# the way. Worth another try. Any other requests exception (a redirect loop, a bad URL, a body
# that is not JSON) would fail the same way again.
RETRYABLE_ERRORS: tuple[type[requests.RequestException], ...] = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def spotify_configured() -> bool:
    """True when the app credentials are set; the integration is off otherwise."""
    return bool(settings.SPOTIFY_CLIENT_ID and settings.SPOTIFY_CLIENT_SECRET)


def require_configured() -> None:
    """Raise SpotifyNotConfigured unless the app credentials are set."""
    if not spotify_configured():
        raise SpotifyNotConfigured()


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def api_url(path: str) -> str:
    """``path`` (such as ``tracks/{id}``) under ``SPOTIFY_API_URL``."""
    return _with_slash(settings.SPOTIFY_API_URL) + path


def token_url() -> str:
    return _with_slash(settings.SPOTIFY_ACCOUNTS_URL) + "api/token"


def authorize_url() -> str:
    return _with_slash(settings.SPOTIFY_ACCOUNTS_URL) + "authorize"


# --- Sessions ------------------------------------------------------------------------------

_last_status = threading.local()


def _remember_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    # spotipy's auth managers return parsed JSON only; this hook lets the metrics record the
    # real status of a token request.
    _last_status.value = response.status_code


def last_status_reset() -> None:
    """Forget the status of this thread's last response (before a request whose is wanted)."""
    _last_status.value = None


def last_status() -> int | None:
    """The status of this thread's last response through a :func:`session`, if any."""
    value: int | None = getattr(_last_status, "value", None)
    return value


def session(*, client_auth: bool = False) -> requests.Session:
    """A session with no automatic retries (requests' default adapter: Retry(0, read=False)).

    ``client_auth`` adds HTTP Basic client authentication: we are a confidential client, so
    the code exchange and refreshes authenticate the app as well as proving PKCE.
    """
    new = requests.Session()
    new.hooks["response"].append(_remember_status)
    if client_auth:
        new.auth = (settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
    return new


# --- The retry policy ----------------------------------------------------------------------


def backoff(attempt: int) -> None:
    """Sleep before retry number ``attempt`` (1 for the first retry)."""
    # Full jitter keeps processes from retrying in lockstep.
    if RETRY_BACKOFF_SECONDS > 0:
        delay = RETRY_BACKOFF_SECONDS * (2 ** (attempt - 1))
        time.sleep(delay / 2 + (delay / 2) * (time.monotonic_ns() % 1000) / 1000)


def retry_after(headers: Mapping[str, str] | None) -> int:
    """Whole seconds from a Retry-After header (at least 1), or the default when unusable."""
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(1, int(float(raw))) if raw is not None else DEFAULT_RETRY_AFTER_SECONDS
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


def ms_since(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()`` value)."""
    return (time.perf_counter() - started) * 1000


def request_error(
    exc: requests.RequestException, *, detail: dict[str, Any] | None = None
) -> SpotifyError:
    """Our error for a requests exception that outlived the retries (or is not retried).

    Failures in transit become SpotifyUnavailable (transient); anything else the base
    SpotifyError (502), naming the kind of failure but never its text, which may hold a URL.
    """
    if isinstance(exc, RETRYABLE_ERRORS):
        return SpotifyUnavailable(detail=detail)
    return SpotifyError(detail={**(detail or {}), "error": type(exc).__name__})


# --- Web API requests ----------------------------------------------------------------------


class SpotifyHttpError(Exception):
    """A Web API answer with a status of 400 or more. The client translates it into one of our
    errors; it never leaves the package. ``message`` and ``reason`` are Spotify's error object's.
    """

    def __init__(
        self, *, status: int, message: str | None, reason: str | None, headers: Mapping[str, str]
    ) -> None:
        super().__init__(f"Spotify answered HTTP {status}")
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers

    @classmethod
    def from_response(cls, response: requests.Response) -> SpotifyHttpError:
        message: str | None
        reason: str | None
        try:
            error = response.json().get("error", {})
            message, reason = error.get("message"), error.get("reason")
        except (ValueError, AttributeError):  # not JSON, or not Spotify's error object
            message, reason = response.text or None, None
        return cls(
            status=response.status_code, message=message, reason=reason, headers=response.headers
        )


@sensitive_variables("access_token")
def api_get(
    http_session: requests.Session, path: str, *, params: dict[str, Any], access_token: str
) -> requests.Response:
    """One GET of ``path`` under SPOTIFY_API_URL with the bearer token and the timeout.

    Returns the (2xx) response; raises SpotifyHttpError for a status of 400 or more, and lets
    requests exceptions through for the caller's retry policy and :func:`request_error`.
    """
    response = http_session.get(
        api_url(path),
        params=params,
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
    )
    if response.status_code >= 400:
        raise SpotifyHttpError.from_response(response)
    return response
