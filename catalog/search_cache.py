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
import logging
import pickle
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from catalog.models import Song
from catalog.normalize import normalize
from catalog.search import ScoredSong, SearchFilters, SearchResult
from catalog.version import VERSION_KEY, kept_searches, read_with_version
from core.shared_state import CACHE_ERRORS, cache_failed, cache_recently_failed

logger = logging.getLogger(__name__)

# The entries' format is in the prefix: a release that changes it reads none of the entries
# an older one kept (nor the other way round, while both run during a deploy).
ENTRY_PREFIX = "catalog:search:v2:"
# A value the cache holds but this code cannot read back (another format, a class that moved):
# the search runs and writes the entry again.
UNREADABLE = (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, ValueError)


def entry_key(normalized: str, filters: SearchFilters, limit: int, offset: int) -> str:
    """The key of a search's entry: everything the local result depends on, hashed (the key
    stays short whatever the query's length)."""
    identity = json.dumps([normalized, filters.as_dict(), limit, offset], sort_keys=True)
    return ENTRY_PREFIX + hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()


def _kept(result: SearchResult, represent: Callable[[Song], dict]) -> tuple:
    """What the cache keeps of a result: its figures and terms, and per song its score, id,
    title, the song as the API shows it (``represent``) and the model pickled, loaded only
    when asked for (catalog.search.ScoredSong). The fresh result gets the shown songs too, so
    the response does not build them twice."""
    rows = []
    for hit in result.results:
        hit.data = represent(hit.song)
        rows.append((hit.score, hit.pk, hit.title_norm, hit.data, hit.kept()))
    figures = (result.total, result.total_is_exact, result.normalized, result.terms, result.relaxed)
    return figures, rows


def _result(kept: tuple, took_ms: float) -> SearchResult:
    (total, exact, normalized, terms, relaxed), rows = kept
    results = [
        ScoredSong(None, score, pk=pk, title_norm=title, data=data, kept=model)
        for score, pk, title, data, model in rows
    ]
    return SearchResult(results, total, exact, normalized, terms, took_ms, relaxed, cached=True)


def _version() -> int | None:
    try:
        return cache.get(VERSION_KEY)
    except CACHE_ERRORS as exc:
        cache_failed("search cache", exc)
        return None


def cached_search(
    search: Callable[..., SearchResult],
    *,
    query: str,
    filters: SearchFilters,
    limit: int,
    offset: int,
    represent: Callable[[Song], dict],
) -> SearchResult:
    """``search(query=..., filters=..., limit=..., offset=...)``, from the cache when the
    catalog has not changed since it was kept (``result.cached`` says so, and ``took_ms`` is
    then the look-up's time). ``represent``: a song as the API shows it (kept with it)."""
    if not kept_searches() or cache_recently_failed():
        return search(query=query, filters=filters, limit=limit, offset=offset)
    started = time.perf_counter()
    key = entry_key(normalize(query), filters, limit, offset)
    version: int | None
    try:
        version, found = read_with_version([key])
    except CACHE_ERRORS as exc:
        cache_failed("search cache", exc)
        return search(query=query, filters=filters, limit=limit, offset=offset)
    except UNREADABLE:
        logger.warning("search cache: an entry could not be read back; searching again")
        version, found = _version(), {}
    entry = found.get(key)
    if version is not None and isinstance(entry, tuple) and len(entry) == 2:
        try:
            if entry[0] == version:
                return _result(entry[1], round((time.perf_counter() - started) * 1000, 2))
        except (*UNREADABLE, IndexError):
            logger.warning("search cache: an entry has another shape; searching again")
    result = search(query=query, filters=filters, limit=limit, offset=offset)
    if version is None:  # the counter could not be read: keep nothing
        return result
    try:
        cache.set(key, (version, _kept(result, represent)), timeout=settings.SEARCH_CACHE_SECONDS)
    except CACHE_ERRORS as exc:
        cache_failed("search cache", exc)
    return result
