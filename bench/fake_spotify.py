"""A fake Spotify on 127.0.0.1 for benchmarks and end-to-end tests (stdlib only).

    fake = FakeSpotify(tracks=[track_object(...), ...], mode="development", limit=90)
    api_url, accounts_url = fake.start()   # SPOTIFY_API_URL, SPOTIFY_ACCOUNTS_URL
    ...
    fake.calls["GET /search"], fake.rate_limited
    fake.stop()

It answers like Spotify in late 2026 (docs/spotify-api.md):

- ``POST /api/token``: client credentials; the API then wants ``Authorization: Bearer`` with
  a token it issued (401 otherwise).
- ``GET /v1/search?type=track``: field filters and free words (see ``fake_catalog``), ranked by
  popularity; ``limit`` at most 10 in development mode (50 in extended), ``offset`` at most
  1000; a larger one is a 400 as Spotify gives.
- ``GET /v1/tracks/{id}``: 404 with Spotify's error body for an unknown id.
- ``GET /v1/tracks?ids=`` (at most 50; null for unknown ids) and ``GET /v1/audio-features?ids=``
  (at most 100): in development mode both answer 403, as Spotify does for endpoints it took
  away from new apps.
- A connected user's library (``bench/fake_library.py``): ``GET /v1/me/playlists``,
  ``GET /v1/playlists/{id}/items`` and ``GET /v1/me/player/recently-played``, answered for the
  account whose token (``add_account``) the request carries.
- A rolling-window limit per app: a request beyond ``limit`` in the last ``window_s`` seconds
  gets 429 with ``Retry-After`` and the QUOTA_EXCEEDED body (429s are not counted in the
  window, as they cost Spotify nothing).

Fault modes (the fault tests in ``tests/proof/test_spotify_faults.py``), on Web API GETs only
(token requests are answered normally), each changeable while the server runs:

- ``latency_s``: every GET waits this long before it is answered (a slow Spotify).
- ``error_rate``: this fraction of the authorized GETs answers ``error_status`` (503) with
  Spotify's error body; drawn from ``random.Random(seed)`` in the order requests arrive, so a
  client making its calls one after another meets the same failures on every run.
- ``storm_retry_after``: when set, every authorized GET answers 429 with this
  ``Retry-After`` (seconds) and the RATE_LIMITED body: a 429 storm. ``None`` ends it.

Counters: ``calls`` (a Counter keyed like the client's endpoint labels: "GET /search",
"GET /tracks/{id}", "GET /tracks", "GET /audio-features", "POST /api/token"), ``statuses``
(keyed "GET /search 200"), ``rate_limited`` (429s sent). ``reset_counters()`` zeroes them.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.fake_catalog import BASE62, TrackIndex, audio_features_object
from bench.fake_library import FakeAccount

SEARCH_MAX = {"development": 10, "extended": 50}
TRACKS_MAX = 50
AUDIO_FEATURES_MAX = 100
OFFSET_MAX = 1000
LIBRARY_ENDPOINTS = frozenset(
    {"GET /me/playlists", "GET /playlists/{id}/items", "GET /me/player/recently-played"}
)


def error(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "message": message}
    if reason:
        body["reason"] = reason
    return {"error": body}


def endpoint_label(path: str) -> str:
    """The client's label for a Web API path ("GET /tracks/{id}", ...)."""
    if path.startswith("/v1/tracks/"):
        return "GET /tracks/{id}"
    if path.startswith("/v1/playlists/") and path.endswith("/items"):
        return "GET /playlists/{id}/items"
    return "GET " + path.removeprefix("/v1")


def _is_id(value: str) -> bool:
    return len(value) == 22 and all(c in BASE62 for c in value)


class RollingWindow:
    """At most ``limit`` admissions in any ``window_s`` seconds (None: no limit)."""

    def __init__(self, limit: int | None, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> float:
        """0 when admitted, else the seconds until a slot frees."""
        if self.limit is None:
            return 0.0
        now = time.monotonic()
        with self._lock:
            while self._times and self._times[0] <= now - self.window_s:
                self._times.popleft()
            if len(self._times) >= self.limit:
                return self._times[0] + self.window_s - now
            self._times.append(now)
            return 0.0


class FakeSpotify:
    """Spotify's accounts service and the Web API track endpoints, on a local port."""

    def __init__(
        self,
        *,
        tracks: Iterable[dict[str, Any]] = (),
        mode: str = "development",
        limit: int | None = None,
        window_s: float = 30.0,
        port: int = 0,
        latency_s: float = 0.0,
        error_rate: float = 0.0,
        error_status: int = 503,
        seed: int = 0,
        storm_retry_after: int | None = None,
    ) -> None:
        if mode not in SEARCH_MAX:
            raise ValueError("mode must be 'development' or 'extended'")
        self.index = TrackIndex(tracks)
        self.mode = mode
        self.window = RollingWindow(limit, window_s)
        self.latency_s = latency_s
        self.error_rate = error_rate
        self.error_status = error_status
        self.storm_retry_after = storm_retry_after
        self._rng = random.Random(seed)
        self._port = port
        self._tokens: set[str] = set()
        self._accounts: dict[str, FakeAccount] = {}  # user access token -> account
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.rate_limited = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def reseed(self, seed: int) -> None:
        """Draw the ``error_rate`` failures from ``random.Random(seed)`` from now on."""
        with self._lock:
            self._rng = random.Random(seed)

    def start(self) -> tuple[str, str]:
        """Serve in a thread; returns (SPOTIFY_API_URL, SPOTIFY_ACCOUNTS_URL)."""
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        return f"{base}/v1/", f"{base}/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSpotify:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def urls(self) -> tuple[str, str]:
        assert self._server is not None, "not started"
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        return f"{base}/v1/", f"{base}/"

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.statuses.clear()
            self.rate_limited = 0

    @property
    def api_calls(self) -> int:
        """Web API requests received (token requests excluded)."""
        return sum(n for endpoint, n in self.calls.items() if endpoint != "POST /api/token")

    # -- request handling (called from the handler's threads) --

    def _count(self, endpoint: str, status: int) -> None:
        with self._lock:
            self.calls[endpoint] += 1
            self.statuses[f"{endpoint} {status}"] += 1
            if status == 429:
                self.rate_limited += 1

    def fault(self) -> tuple[int, Any, dict[str, str]] | None:
        """The fault this authorized GET meets, as (status, body, headers), or None."""
        storm = self.storm_retry_after
        if storm is not None:
            body = error(429, "API rate limit exceeded", "RATE_LIMITED")
            return 429, body, {"Retry-After": str(storm)}
        if self.error_rate > 0:
            with self._lock:
                draw = self._rng.random()
            if draw < self.error_rate:
                return self.error_status, error(self.error_status, "Service unavailable"), {}
        return None

    def issue_token(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def add_account(self, account: FakeAccount) -> str:
        """Serve ``account``'s library; returns the user access token to store for it."""
        token = self.issue_token()["access_token"]
        with self._lock:
            self._accounts[token] = account
        return token

    def account_for(self, header: str | None) -> FakeAccount | None:
        with self._lock:
            return self._accounts.get((header or "").removeprefix("Bearer "))

    def authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        with self._lock:
            return header.removeprefix("Bearer ") in self._tokens

    def answer(self, path: str, query: dict[str, str]) -> tuple[str, int, Any]:
        """(endpoint label, status, body) for an authorized, admitted GET."""
        label = endpoint_label(path)
        if label == "GET /search":
            return label, *self._search(query)
        if label == "GET /tracks":
            return label, *self._tracks(query)
        if label == "GET /tracks/{id}":
            return label, *self._track(path.removeprefix("/v1/tracks/"))
        if label == "GET /audio-features":
            return label, *self._audio_features(query)
        return label, 404, error(404, "Service not found")

    def _search(self, query: dict[str, str]) -> tuple[int, Any]:
        q = query.get("q", "")
        if not q.strip():
            return 400, error(400, "No search query")
        if "track" not in query.get("type", "").split(","):
            return 400, error(400, "Missing parameter type")
        try:
            limit = int(query.get("limit", "5" if self.mode == "development" else "20"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return 400, error(400, "Invalid limit")
        if not 0 <= limit <= SEARCH_MAX[self.mode]:
            return 400, error(400, "Invalid limit")
        if not 0 <= offset <= OFFSET_MAX:
            return 400, error(400, "Invalid offset")
        found = self.index.search(q)
        href = f"https://api.spotify.com/v1/search?query={q}&type=track"
        page = {
            "href": f"{href}&offset={offset}&limit={limit}",
            "items": found[offset : offset + limit],
            "limit": limit,
            "offset": offset,
            "total": len(found),
            "next": f"{href}&offset={offset + limit}&limit={limit}"
            if offset + limit < len(found)
            else None,
            "previous": f"{href}&offset={max(0, offset - limit)}&limit={limit}" if offset else None,
        }
        return 200, {"tracks": page}

    def _track(self, track_id: str) -> tuple[int, Any]:
        if not _is_id(track_id):
            return 400, error(400, "Invalid base62 id")
        track = self.index.by_id.get(track_id)
        if track is None:
            return 404, error(404, "Resource not found")
        return 200, track

    def _ids(self, query: dict[str, str], most: int) -> list[str] | tuple[int, Any]:
        ids = [i for i in query.get("ids", "").split(",") if i]
        if not ids:
            return 400, error(400, "Missing parameter ids")
        if len(ids) > most:
            return 400, error(400, "Too many ids requested")
        if not all(_is_id(i) for i in ids):
            return 400, error(400, "Invalid base62 id")
        return ids

    def _tracks(self, query: dict[str, str]) -> tuple[int, Any]:
        if self.mode == "development":
            return 403, error(403, "Forbidden")
        ids = self._ids(query, TRACKS_MAX)
        if isinstance(ids, tuple):
            return ids
        return 200, {"tracks": [self.index.by_id.get(i) for i in ids]}

    def _audio_features(self, query: dict[str, str]) -> tuple[int, Any]:
        if self.mode == "development":
            return 403, error(403, "Forbidden")
        ids = self._ids(query, AUDIO_FEATURES_MAX)
        if isinstance(ids, tuple):
            return ids
        tracks = [self.index.by_id.get(i) for i in ids]
        return 200, {"audio_features": [audio_features_object(t) if t else None for t in tracks]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a benchmark makes thousands of requests

    @property
    def fake(self) -> FakeSpotify:
        return self.server.fake  # type: ignore[attr-defined]

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        if urlsplit(self.path).path != "/api/token":
            self._send(404, error(404, "Service not found"))
            return
        if form.get("grant_type") != ["client_credentials"]:
            self.fake._count("POST /api/token", 400)
            self._send(400, {"error": "unsupported_grant_type"})
            return
        self.fake._count("POST /api/token", 200)
        self._send(200, self.fake.issue_token())

    def do_GET(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if fake.latency_s:
            time.sleep(fake.latency_s)
        label = endpoint_label(url.path)
        if not fake.authorized(self.headers.get("Authorization")):
            fake._count(label, 401)
            self._send(401, error(401, "Invalid access token"))
            return
        fault = fake.fault()
        if fault is not None:
            status, body, headers = fault
            fake._count(label, status)
            self._send(status, body, headers)
            return
        wait = fake.window.admit()
        if wait:
            fake._count(label, 429)
            body = error(429, "Too many requests", "QUOTA_EXCEEDED")
            self._send(429, body, {"Retry-After": str(max(1, math.ceil(wait)))})
            return
        account = fake.account_for(self.headers.get("Authorization"))
        if account is not None and label in LIBRARY_ENDPOINTS:
            status, body = account.answer(label, url.path, query)
        else:
            label, status, body = fake.answer(url.path, query)
        fake._count(label, status)
        self._send(status, body)
