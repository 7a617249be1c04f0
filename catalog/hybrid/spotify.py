"""The Spotify leg of hybrid search: the cache, the breaker and the client's track search.

Searches and tracks are cached through Django's cache (Redis in production), so a repeated
search makes no Spotify call: a search page under its normalised query, the app's mode, the
market and the page number for ``SEARCH_SPOTIFY_CACHE_TTL`` hours (an empty answer only
``SEARCH_SPOTIFY_EMPTY_CACHE_SECONDS``), and each track it returned under its id for
``SEARCH_SPOTIFY_TRACK_CACHE_TTL`` days (:func:`cached_track`). The app token searches with
no market, so the key's market is ``app``; it is in the key so that a market added later does
not read these entries.

:func:`fetch` runs in a worker thread (:func:`submit`) so the request waits for it only
as long as its budget allows; a late fetch still fills the cache for the next search.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from core.metrics import record_search_cache
from spotify_integration.client import SpotifyClient

logger = logging.getLogger(__name__)

PAGE_SIZE = 10  # a search page of a development-mode app holds at most 10 tracks (2026)
MAX_PAGES = 2
MARKET = "app"
KEY_VERSION = 1

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pages_for(limit: int) -> int:
    """Pages of Spotify results worth fetching for a page of ``limit`` results."""
    return max(1, min(MAX_PAGES, -(-limit // PAGE_SIZE)))


def search_cache_key(normalized: str, page: int) -> str:
    digest = hashlib.sha256(normalized.encode()).hexdigest()[:32]
    mode = settings.SPOTIFY_APP_MODE
    return f"hybrid:spotify:v{KEY_VERSION}:search:{mode}:{MARKET}:{page}:{digest}"


def track_cache_key(spotify_id: str) -> str:
    return f"hybrid:spotify:v{KEY_VERSION}:track:{spotify_id}"


def cached_track(spotify_id: str) -> dict[str, Any] | None:
    """A TrackObject hybrid search saw lately (from its search results), or None."""
    track = cache.get(track_cache_key(spotify_id))
    record_search_cache(kind="track", hit=track is not None)
    return track


def _enough(page: dict[str, Any], number: int) -> bool:
    """True when Spotify has no more results after page ``number``."""
    return int(page.get("total") or 0) <= (number + 1) * PAGE_SIZE


def _cached_pages(normalized: str, pages: int) -> dict[int, dict[str, Any]]:
    """The cached pages of a search by number, read in one round trip (it is on every
    search's path)."""
    keys = {search_cache_key(normalized, number): number for number in range(pages)}
    return {keys[key]: page for key, page in cache.get_many(list(keys)).items()}


def _tracks(found: dict[int, dict[str, Any]], pages: int) -> list[dict[str, Any]] | None:
    """The tracks of the pages a search needs, when ``found`` holds all of them."""
    tracks: list[dict[str, Any]] = []
    for number in range(pages):
        page = found.get(number)
        if page is None:
            return None
        tracks += page["items"]
        if _enough(page, number):
            break
    return tracks


def cached_search(
    normalized: str, pages: int, *, found: dict[int, dict[str, Any]] | None = None
) -> list[dict[str, Any]] | None:
    """The tracks of a cached search (every page it needs), or None: Spotify must be asked.
    ``found`` receives the cached pages, for :func:`submit` not to read them again."""
    cached = _cached_pages(normalized, pages)
    if found is not None:
        found.update(cached)
    # Its hit or miss is counted by the caller, with the search's timings (one round trip).
    return _tracks(cached, pages)


def _store(normalized: str, number: int, answer: dict[str, Any]) -> dict[str, Any]:
    items = [t for t in answer.get("items") or [] if t and t.get("id")]
    page = {"items": items, "total": int(answer.get("total") or len(items))}
    if items:
        ttl = int(settings.SEARCH_SPOTIFY_CACHE_TTL * 3600)
        track_ttl = int(settings.SEARCH_SPOTIFY_TRACK_CACHE_TTL * 86400)
        cache.set_many({track_cache_key(t["id"]): t for t in items}, timeout=track_ttl)
    else:
        ttl = settings.SEARCH_SPOTIFY_EMPTY_CACHE_SECONDS
    cache.set(search_cache_key(normalized, number), page, timeout=ttl)
    return page


@dataclass
class Fetch:
    """A running :func:`fetch`, and the pages it has so far (each page's tracks, in order):
    when the budget ends during the second page, the first one is still shown."""

    future: Future[list[dict[str, Any]]]
    done: list[list[dict[str, Any]]]


def fetch(
    normalized: str,
    pages: int,
    found: dict[int, dict[str, Any]] | None = None,
    done: list[list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Spotify's tracks for the query, in Spotify's order: the cached pages (``found``, or
    read now) are used, the others asked (a second page only when the first was full).
    Raises the client's exceptions."""
    try:
        cached = _cached_pages(normalized, pages) if found is None else found
        client = SpotifyClient.for_app()  # the interactive lane: a person is waiting
        tracks: list[dict[str, Any]] = []
        for number in range(pages):
            page = cached.get(number)
            if page is None:
                answer = client.search_tracks(
                    query=normalized, limit=PAGE_SIZE, offset=number * PAGE_SIZE
                )
                page = _store(normalized, number, answer)
            tracks += page["items"]
            if done is not None:
                done.append(page["items"])
            if _enough(page, number):
                break
        return tracks
    finally:
        # The worker thread holds no connection past its task (the token or the budget may
        # have touched the database through a setting's backend); a late fetch leaks none.
        connections.close_all()


def submit(normalized: str, pages: int, found: dict[int, dict[str, Any]] | None = None) -> Fetch:
    """Start :func:`fetch` in the process's worker pool (``SEARCH_SPOTIFY_WORKERS`` threads);
    ``found``: the pages :func:`cached_search` just read."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.SEARCH_SPOTIFY_WORKERS, thread_name_prefix="hybrid-spotify"
            )
    done: list[list[dict[str, Any]]] = []
    return Fetch(_pool.submit(fetch, normalized, pages, found, done), done)
