"""Spotify at the wire for hybrid search: the integration's fixtures, and ``/search`` answers
built from spec-valid tracks (each body validated against the vendored spec)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from core.breaker import spotify_breaker
from tests.catalog.enrichment.conftest import search_body
from tests.spotify_integration.conftest import (  # noqa: F401 - fixtures, used by name
    _isolated_spotify_state,
    _no_token_in_logs,
    spotify,
)
from tests.spotify_integration.fakes import API, FakeSpotify
from tests.spotify_integration.openapi import validate_response

SEARCH = "/api/songs/search/"


def page_body(q: str, items: list[dict[str, Any]], *, offset: int, total: int) -> dict[str, Any]:
    body = search_body(q, items)
    body["tracks"].update(offset=offset, total=total)
    validate_response("/search", "GET", 200, body)
    return body


@pytest.fixture
def spotify_search(spotify: FakeSpotify) -> Callable[..., list[dict[str, str]]]:  # noqa: F811
    """``spotify_search(*tracks, delay=0, status=200)``: ``GET /search`` answers with these
    tracks (10 a page, as Spotify pages them) after ``delay`` s, or with an error status.
    ``delay`` may be a tuple: the n-th call waits ``delay[n]`` (the last one for later calls).
    Returns the list of the asked parameters."""

    def serve(
        *tracks: dict[str, Any], delay: float | tuple[float, ...] = 0, status: int = 200
    ) -> list[dict]:
        asked: list[dict[str, str]] = []
        delays = delay if isinstance(delay, tuple) else (delay,)

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
            asked.append(params)
            time.sleep(delays[min(len(asked) - 1, len(delays) - 1)])
            if status != 200:
                body = {"error": {"status": status, "message": "failed"}}
                validate_response("/search", "GET", status, body)
                headers = {"Retry-After": "30"} if status == 429 else {}
                return status, {"Content-Type": "application/json", **headers}, _json(body)
            offset, limit = int(params["offset"]), int(params["limit"])
            page = list(tracks[offset : offset + limit])
            body = page_body(params["q"], page, offset=offset, total=len(tracks))
            return 200, {"Content-Type": "application/json"}, _json(body)

        spotify.token()
        spotify.rsps.add_callback(responses.GET, API + "search", callback=answer)
        return asked

    return serve


def _json(body: Any) -> str:
    import json

    return json.dumps(body)


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    spotify_breaker().reset()
    yield
    spotify_breaker().reset()


@pytest.fixture(autouse=True)
def _roomy_budget(settings: Any) -> None:
    # Validating each body against the spec takes longer than a real budget on a first call;
    # the tests of the budget set their own.
    settings.SEARCH_SPOTIFY_BUDGET_MS = 10_000
