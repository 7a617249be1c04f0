"""A fake Spotify at the HTTP wire, and the bodies it answers with.

Every Web API body registered through ``FakeSpotify.api(...)`` is validated against the
OpenAPI description first; token-endpoint bodies come from ``token_body`` (the documented
shape). Every token value handed out is remembered in ``ISSUED_SECRETS`` so that tests can
prove none leaks.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import responses

from tests.spotify_integration.openapi import validate_response

API = "https://api.spotify.test/v1/"
TOKEN_URL = "https://accounts.spotify.test/api/token"
AUTHORIZE_URL = "https://accounts.spotify.test/authorize"
ALL_SCOPES = [
    "playlist-read-collaborative",
    "playlist-read-private",
    "user-read-private",
    "user-read-recently-played",
]

# Every token value issued during the current test (access, refresh, verifier, code).
ISSUED_SECRETS: set[str] = set()


def secret(prefix: str) -> str:
    value = f"{prefix}-{secrets.token_urlsafe(24)}"
    ISSUED_SECRETS.add(value)
    return value


def token_body(
    *, refresh: bool = True, scope: str | None = " ".join(ALL_SCOPES), expires_in: int = 3600
) -> dict[str, Any]:
    """The accounts service's documented token response (not in the OpenAPI spec)."""
    body: dict[str, Any] = {
        "access_token": secret("access"),
        "token_type": "Bearer",
        "expires_in": expires_in,
    }
    if refresh:
        body["refresh_token"] = secret("refresh")
    if scope is not None:
        body["scope"] = scope
    return body


def me_body(account_id: str = "aB3dE5fG7h", display_name: str = "Listener") -> dict[str, Any]:
    return {
        "account_id": account_id,
        "display_name": display_name,
        "id": f"user-{account_id}",
        "type": "user",
        "uri": f"spotify:user:user-{account_id}",
        "href": f"https://api.spotify.com/v1/users/user-{account_id}",
        "external_urls": {"spotify": f"https://open.spotify.com/user/user-{account_id}"},
        "images": [],
    }


def track_body(track_id: str, name: str = "Bohemian Rhapsody") -> dict[str, Any]:
    return {
        "id": track_id,
        "name": name,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
        "href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "duration_ms": 354320,
        "explicit": False,
        "disc_number": 1,
        "track_number": 11,
        "is_local": False,
        "external_ids": {"isrc": "GBUM71029604"},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "artists": [
            {
                "id": "1dfeR4HaWDbWqFHLkxsg1d",
                "name": "Queen",
                "type": "artist",
                "uri": "spotify:artist:1dfeR4HaWDbWqFHLkxsg1d",
                "href": "https://api.spotify.com/v1/artists/1dfeR4HaWDbWqFHLkxsg1d",
                "external_urls": {
                    "spotify": "https://open.spotify.com/artist/1dfeR4HaWDbWqFHLkxsg1d"
                },
            }
        ],
    }


def error_body(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "message": message}
    if reason:
        error["reason"] = reason
    return {"error": error}


class FakeSpotify:
    """Registers Spotify responses on a RequestsMock, validating Web API bodies first."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps

    def api(
        self,
        method: str,
        spec_path: str,
        *,
        path: str | None = None,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> responses.BaseResponse:
        """Answer ``method path`` (default: the spec path) with a spec-valid body."""
        validate_response(spec_path, method, status, body)
        return self.rsps.add(
            method,
            API + (path or spec_path).lstrip("/"),
            json=body,
            status=status,
            headers=headers or {},
        )

    def token(self, body: dict[str, Any] | None = None, *, status: int = 200) -> None:
        self.rsps.add(responses.POST, TOKEN_URL, json=body or token_body(), status=status)

    def token_callback(self, fn: Callable[[Any], tuple[int, dict[str, str], str]]) -> None:
        self.rsps.add_callback(responses.POST, TOKEN_URL, callback=fn)

    def calls_to(self, url_prefix: str) -> list[Any]:
        return [c for c in self.rsps.calls if c.request.url.startswith(url_prefix)]

    def token_calls(self, grant_type: str | None = None) -> list[dict[str, list[str]]]:
        forms = [parse_qs(c.request.body) for c in self.calls_to(TOKEN_URL)]
        return [f for f in forms if grant_type is None or f.get("grant_type") == [grant_type]]
