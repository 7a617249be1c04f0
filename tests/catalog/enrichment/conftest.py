"""Spotify at the wire for the enrichment tests: the integration's fixtures, and a search that
answers from a small catalog (every body checked against the vendored spec)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bench.fake_catalog import TrackIndex
from tests.spotify_integration.conftest import (  # noqa: F401 - fixtures, used by name
    _isolated_spotify_state,
    _no_token_in_logs,
    spotify,
)
from tests.spotify_integration.fakes import API, FakeSpotify
from tests.spotify_integration.openapi import validate_response


def search_body(q: str, items: list[dict[str, Any]], limit: int = 10) -> dict[str, Any]:
    href = f"https://api.spotify.com/v1/search?query={q}&type=track"
    return {
        "tracks": {
            "href": href, "items": items[:limit], "limit": limit, "offset": 0,
            "next": None, "previous": None, "total": len(items),
        }
    }  # fmt: skip


@pytest.fixture
def spotify_catalog(spotify: FakeSpotify) -> Callable[..., list[str]]:  # noqa: F811
    """``spotify_catalog(*tracks)`` makes ``GET /search`` answer from those tracks; returns
    the list the queries asked are appended to."""

    def serve(*tracks: dict[str, Any]) -> list[str]:
        index = TrackIndex(tracks)
        asked: list[str] = []

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            params = parse_qs(urlsplit(request.url).query)
            q = params["q"][0]
            asked.append(q)
            body = search_body(q, index.search(q), int(params["limit"][0]))
            validate_response("/search", "GET", 200, body)
            return 200, {"Content-Type": "application/json"}, json.dumps(body)

        spotify.token()
        spotify.rsps.add_callback(responses.GET, API + "search", callback=answer)
        return asked

    return serve
