"""A connected user's Spotify library at the HTTP wire (``responses``), for the library tests.

The answers come from ``bench.fake_library.FakeAccount`` (the benchmark's fake) and every
body is validated against the OpenAPI description before it is sent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import responses

from bench.fake_library import FakeAccount, error
from tests.spotify_integration.fakes import API
from tests.spotify_integration.openapi import validate_response

ROUTES = {
    "GET /me/playlists": ("/me/playlists", re.compile(re.escape(API) + r"me/playlists(\?.*)?$")),
    "GET /playlists/{id}/items": (
        "/playlists/{playlist_id}/items",
        re.compile(re.escape(API) + r"playlists/[^/]+/items(\?.*)?$"),
    ),
    "GET /me/player/recently-played": (
        "/me/player/recently-played",
        re.compile(re.escape(API) + r"me/player/recently-played(\?.*)?$"),
    ),
}


class LibraryWire:
    """Serves ``account`` for the three library endpoints; counts calls and their queries.

    ``fail(label, status, headers)`` makes the next call of ``label`` answer that error once.
    """

    def __init__(self, rsps: responses.RequestsMock, account: FakeAccount) -> None:
        self.account = account
        self.calls: Counter[str] = Counter()
        self.queries: list[tuple[str, dict[str, str]]] = []
        self._failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for label, (spec_path, pattern) in ROUTES.items():
            rsps.add_callback(responses.GET, pattern, callback=self._callback(label, spec_path))

    def fail(self, label: str, status: int, headers: dict[str, str] | None = None) -> None:
        self._failures.setdefault(label, []).append((status, headers or {}))

    def item_calls(self) -> int:
        return self.calls["GET /playlists/{id}/items"]

    def _callback(self, label: str, spec_path: str) -> Any:
        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            url = urlsplit(request.url)
            query = dict(parse_qsl(url.query))
            self.calls[label] += 1
            self.queries.append((label, query))
            pending = self._failures.get(label)
            if pending:
                status, headers = pending.pop(0)
                body = error(status, "Too many requests" if status == 429 else "Failed")
            else:
                status, body = self.account.answer(label, url.path, query)
                headers = {}
            validate_response(spec_path, "GET", status, body)
            return status, headers, json.dumps(body)

        return answer
