"""Repeated searches answered from the shared cache (Redis), never from a catalog that changed.

People search for the same songs: a popular title is asked for again and again, and each
time it costs a vocabulary look-up and the ranking statement in PostgreSQL (3-5 ms of CPU,
most of a request). So the local part of a search (``catalog.search.SearchResult``: the page
of songs, the total and what the query was understood as) is kept in the shared cache for
``SEARCH_CACHE_SECONDS``, keyed on what decides it: the normalised query, the filters, limit
and offset. Spotify's part is never kept here (it has its own cache, catalog.hybrid.spotify).

**Never stale.** Each entry holds the *catalog version* it was computed at (catalog.version:
a counter in the cache that every committed catalog write advances). An entry is used only
when its version is the current one, and both are read in one round trip. The version is read
*before* the search runs, so a write that commits while a search is running leaves that
search's entry under an older version: it is never served.

**Never in the way.** With Redis down or hung the search runs as if there were no cache
(``core.shared_state``: one socket timeout per process every few seconds, not one per search).
A version bump that failed is retried by this process at its next look-up; until then
other processes may serve an entry older than that write, for at most
``SEARCH_CACHE_SECONDS``. Without a shared cache (the embedded default: an in-process cache,
while its worker writes the catalog in another process) ``SEARCH_CACHE_SECONDS`` is 0 and
nothing is kept.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from catalog.normalize import normalize
from catalog.search import SearchFilters, SearchResult
from catalog.version import read_with_version
from core.shared_state import CACHE_ERRORS, cache_failed, cache_recently_failed

ENTRY_PREFIX = "catalog:search:v1:"


def enabled() -> bool:
    return settings.SEARCH_CACHE_SECONDS > 0


def entry_key(normalized: str, filters: SearchFilters, limit: int, offset: int) -> str:
    """The key of a search's entry: everything the local result depends on, hashed (the key
    stays short whatever the query's length)."""
    identity = json.dumps([normalized, filters.as_dict(), limit, offset], sort_keys=True)
    return ENTRY_PREFIX + hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()


def cached_search(
    search: Callable[..., SearchResult],
    *,
    query: str,
    filters: SearchFilters,
    limit: int,
    offset: int,
) -> SearchResult:
    """``search(query=..., filters=..., limit=..., offset=...)``, from the cache when the
    catalog has not changed since it was kept (``result.cached`` says so, and ``took_ms`` is
    then the look-up's time)."""
    if not enabled() or cache_recently_failed():
        return search(query=query, filters=filters, limit=limit, offset=offset)
    started = time.perf_counter()
    key = entry_key(normalize(query), filters, limit, offset)
    try:
        version, found = read_with_version([key])
        entry = found.get(key)
        if entry is not None and entry[0] == version:
            result: SearchResult = entry[1]
            result.cached = True
            result.took_ms = round((time.perf_counter() - started) * 1000, 2)
            return result
    except CACHE_ERRORS as exc:
        cache_failed("search cache", exc)
        return search(query=query, filters=filters, limit=limit, offset=offset)
    result = search(query=query, filters=filters, limit=limit, offset=offset)
    try:
        cache.set(key, (version, result), timeout=settings.SEARCH_CACHE_SECONDS)
    except CACHE_ERRORS as exc:
        cache_failed("search cache", exc)
    return result
