"""Headless Chromium (Debian's ``chromium``) driven by Playwright, against pytest-django's
``live_server``. Playwright never downloads a browser here: it launches the system one.

Each module marks its tests ``browser`` (CI runs them as their own step: ``pytest -m browser``).
Without chromium or the playwright package the tests skip and say which is missing (in CI,
where nothing may skip, that is a failure: ``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync import conftest as _sync_fixtures

CHROMIUM = os.environ.get("ENCORE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set ENCORE_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses database calls
    # while one runs. The test thread's calls are plain synchronous code, so allow them.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 900, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save the page as artifacts/screenshots/<name>.png; CI prints the folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    take.folder = SCREENSHOTS  # type: ignore[attr-defined]
    return take


def _forget_spotify_state() -> None:
    """This worker's cache (app token, cached searches, the breaker) and the budget."""
    from django.core.cache import cache

    from spotify_integration.client import endpoint_memory_clear
    from spotify_integration.ratelimit import spotify_limiter

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # this xdist worker's prefix only, never FLUSHDB
    else:
        cache.clear()
    endpoint_memory_clear()
    spotify_limiter().reset()


@pytest.fixture
def fake_spotify(settings) -> Iterator[Any]:
    """bench's fake Spotify on a local port, with one track the demo catalog lacks; searches
    ask Spotify (``auto``). ``settings`` changes are process-wide, so the live server's thread
    sees them."""
    from bench.fake_catalog import track_object
    from bench.fake_spotify import FakeSpotify

    fake = FakeSpotify(
        tracks=[
            track_object(
                name="Zyxophone Nights",
                artists=["Quillon Varga"],
                album="Glass Harbour",
                duration_ms=201_000,
                release_date="2024-03-01",
            )
        ]
    )
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = fake.start()
    settings.SEARCH_SPOTIFY_DEFAULT = "auto"
    # A cold start (token, then search) on a busy CI machine: room beyond the 300 ms default.
    settings.SEARCH_SPOTIFY_BUDGET_MS = 5000
    _forget_spotify_state()
    yield fake
    fake.stop()
    _forget_spotify_state()


@pytest.fixture
def spotify_down(settings, monkeypatch) -> Iterator[None]:
    """Spotify refuses connections: a port nothing listens on. No backoff between the
    client's retries, so the late Spotify call ends within the test (its log with it)."""
    import socket

    from spotify_integration.client import http as spotify_http

    monkeypatch.setattr(spotify_http, "RETRY_BACKOFF_SECONDS", 0)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SPOTIFY_API_URL = f"http://127.0.0.1:{port}/v1/"
    settings.SPOTIFY_ACCOUNTS_URL = f"http://127.0.0.1:{port}/"
    settings.SEARCH_SPOTIFY_DEFAULT = "auto"
    _forget_spotify_state()
    yield
    _forget_spotify_state()


# The job framework's fixtures, for the console tests: a real Celery worker (on Redis) and an
# import folder of the test's own.
celery_worker = _sync_fixtures.celery_worker
import_dir = _sync_fixtures.import_dir
