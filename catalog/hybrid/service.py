"""Hybrid search: the local results fast, Spotify's when they help, one merged list.

The request never waits for Spotify longer than ``SEARCH_SPOTIFY_BUDGET_MS`` from its start:
the Spotify leg runs in a worker thread (catalog.hybrid.spotify) and is waited for at most
what is left of the budget. With ``spotify="always"`` the call starts *before* the local
search, so both run at once. With ``"auto"`` the local results decide whether Spotify is
worth a call (fewer than ``SEARCH_SPOTIFY_MIN_LOCAL`` songs, or no exact title), so the call
starts after the local search, still inside the same budget; asking every time would spend
the shared Spotify budget on searches the catalog answers.

Spotify failing is never the request's failure: the local results come back and
``spotify.status`` says why Spotify's are missing (``timeout``, ``rate_limited``,
``circuit_open``, ``not_configured``, ``error``; ``skipped`` when not asked). Timeouts and
errors count towards the shared circuit breaker (core.breaker); a rate limit does not (the
shared budget already stops every process).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from catalog import selectors
from catalog.hybrid import spotify as leg
from catalog.hybrid.merge import HybridHit, merge, track_passes
from catalog.models import Song
from catalog.normalize import normalize
from catalog.search import MAX_TERMS, SearchFilters, SearchResult, song_search
from catalog.search_cache import cached_search
from catalog.serializers import song_data
from catalog.vocabulary import corrected
from core.breaker import spotify_breaker
from core.metrics import record_search
from core.shared_state import CACHE_ERRORS, cache_failed, cache_recently_failed
from spotify_integration.client import spotify_configured
from spotify_integration.exceptions import SpotifyNotConfigured, SpotifyRateLimited

logger = logging.getLogger(__name__)

MODES = ("auto", "always", "never")
OK, CACHED, SKIPPED, TIMEOUT = "ok", "cached", "skipped", "timeout"
RATE_LIMITED, CIRCUIT_OPEN, NOT_CONFIGURED, ERROR = (
    "rate_limited",
    "circuit_open",
    "not_configured",
    "error",
)
STATUSES = (OK, CACHED, SKIPPED, TIMEOUT, RATE_LIMITED, CIRCUIT_OPEN, NOT_CONFIGURED, ERROR)


@dataclass
class SpotifyLegResult:
    status: str
    took_ms: float = 0.0
    hits: int = 0  # tracks Spotify returned (before deduplication and the page's room)
    tracks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HybridResult:
    query: str
    filters: SearchFilters
    limit: int
    offset: int
    mode: str
    local: SearchResult
    spotify: SpotifyLegResult
    hits: list[HybridHit]
    took_ms: float
    timings: dict[str, float]  # ms per stage: local, spotify, merge, total

    @property
    def total(self) -> int:
        """Local matches plus the Spotify results shown (they are on the first page only)."""
        return self.local.total + sum(1 for h in self.hits if h.source == "spotify")

    @property
    def has_more(self) -> bool:
        shown = sum(1 for h in self.hits if h.source == "local")
        more = self.offset + shown < self.local.total or not self.local.total_is_exact
        # The next page must be one the API serves: offsets go SEARCH_CANDIDATE_CAP deep.
        return more and self.offset + self.limit <= settings.SEARCH_CANDIDATE_CAP


def default_mode() -> str:
    """The mode of a request that names none: ``SEARCH_SPOTIFY_DEFAULT``, or "never" without
    Spotify credentials."""
    return settings.SEARCH_SPOTIFY_DEFAULT if spotify_configured() else "never"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _wait(call: leg.Fetch, deadline: float) -> SpotifyLegResult:
    """The worker's answer within the budget, as a status; feeds the breaker."""
    breaker = spotify_breaker()
    future = call.future
    try:
        tracks = future.result(timeout=max(0.0, deadline - time.perf_counter()))
    except FutureTimeout:
        if call.done:
            # Spotify answered the first page in time; the second is late. Show what came
            # (the late page still fills the cache): Spotify is slow-ish, not failing.
            breaker.success()
            partial = [track for page in list(call.done) for track in page]
            return SpotifyLegResult(OK, hits=len(partial), tracks=partial)
        # Not started yet (every worker is busy with a slow Spotify): nobody will read its
        # answer, so it must not spend a call of the shared budget and a worker later.
        future.cancel()
        breaker.failure()
        return SpotifyLegResult(TIMEOUT)
    except SpotifyRateLimited:
        return SpotifyLegResult(RATE_LIMITED)
    except SpotifyNotConfigured:
        return SpotifyLegResult(NOT_CONFIGURED)
    except Exception as exc:  # any failure of Spotify is reported, never raised
        breaker.failure()
        logger.warning("hybrid search: Spotify failed (%s)", getattr(exc, "code", type(exc)))
        return SpotifyLegResult(ERROR)
    breaker.success()
    return SpotifyLegResult(OK, hits=len(tracks), tracks=tracks)


def _start(normalized: str, pages: int, *, deadline: float) -> SpotifyLegResult | leg.Fetch:
    """The cached answer, a refusal (the breaker, or no budget left), or the running call.
    With the shared cache (Redis) down the Spotify leg reports an error and the catalog
    answers alone: the local search needs only PostgreSQL."""
    if cache_recently_failed():
        return SpotifyLegResult(ERROR)
    try:
        return _start_leg(normalized, pages, deadline=deadline)
    except CACHE_ERRORS as exc:
        cache_failed("hybrid search", exc)
        return SpotifyLegResult(ERROR)


def _start_leg(normalized: str, pages: int, *, deadline: float) -> SpotifyLegResult | leg.Fetch:
    found: dict[int, dict[str, Any]] = {}
    cached = leg.cached_search(normalized, pages, found=found)
    if cached is not None:
        return SpotifyLegResult(CACHED, hits=len(cached), tracks=cached)
    if time.perf_counter() >= deadline:
        # "auto" after a local search that spent the whole budget: Spotify gets no chance to
        # answer, so it is not asked, and its timeout is not Spotify's failure (no breaker).
        return SpotifyLegResult(TIMEOUT)
    if not spotify_breaker().allow():
        return SpotifyLegResult(CIRCUIT_OPEN)
    return leg.submit(normalized, pages, found)


def _wanted(local: SearchResult, titles: set[str]) -> bool:
    """``auto``: few local songs, or none whose title is the query."""
    if local.total < settings.SEARCH_SPOTIFY_MIN_LOCAL:
        return True
    return not any(hit.title_norm in titles for hit in local.results)


def hybrid_search(
    *, query: str, filters: SearchFilters, limit: int, offset: int, spotify: str
) -> HybridResult:
    """Search the catalog and, per ``spotify`` ("auto" | "always" | "never"), Spotify; one
    merged page (see catalog.hybrid.merge for the rules). Never raises for Spotify."""
    if spotify not in MODES:
        raise ValueError(f"spotify must be one of {MODES}, not {spotify!r}")
    started = time.perf_counter()
    deadline = started + settings.SEARCH_SPOTIFY_BUDGET_MS / 1000
    normalized = " ".join(normalize(query).split()[:MAX_TERMS])
    pages = leg.pages_for(limit)
    # Spotify's results join the first page only; a later page is the catalog's.
    asks = spotify != "never" and bool(normalized) and offset == 0
    early: SpotifyLegResult | leg.Fetch | None = None
    if asks and not spotify_configured():
        early, asks = SpotifyLegResult(NOT_CONFIGURED), False
    elif asks and spotify == "always":
        early = _start(normalized, pages, deadline=deadline)

    local_started = time.perf_counter()
    local = cached_search(
        song_search, query=query, filters=filters, limit=limit, offset=offset, represent=song_data
    )
    timings = {"local": _ms(local_started)}
    titles = {local.normalized, corrected(local.terms)} if local.terms else {local.normalized}

    spotify_started = time.perf_counter()
    if early is None and asks and _wanted(local, titles):
        early = _start(normalized, pages, deadline=deadline)
    # Whether the search cache was read: _start was called (not a refusal before it).
    looked_up = early is not None and not (
        isinstance(early, SpotifyLegResult) and early.status == NOT_CONFIGURED
    )
    if early is None:
        outcome = SpotifyLegResult(SKIPPED)
    elif isinstance(early, leg.Fetch):
        outcome = _wait(early, deadline)
    else:
        outcome = early
    outcome.took_ms = _ms(spotify_started)
    timings["spotify"] = outcome.took_ms

    merge_started = time.perf_counter()
    tracks = [t for t in outcome.tracks if track_passes(t, filters)]
    known: dict[str, Song] = {}
    if tracks:
        ids = [t["id"] for t in tracks]
        shown = {h.pk for h in local.results}
        known = {
            str(song.spotify_id): song
            for song in selectors.songs_for_display(
                songs=Song.objects.filter(spotify_id__in=ids).exclude(pk__in=shown)
            )
        }
    hits = merge(local.results, tracks, titles=titles, limit=limit, in_catalog=known)
    timings["merge"] = _ms(merge_started)
    took_ms = _ms(started)
    timings["total"] = took_ms
    record_search(
        timings={
            ("local", "cached" if local.cached else "ok"): timings["local"] / 1000,
            ("spotify", outcome.status): outcome.took_ms / 1000,
            ("request", outcome.status): took_ms / 1000,
        },
        cache_hit=outcome.status == CACHED if looked_up else None,
    )
    return HybridResult(
        query=query, filters=filters, limit=limit, offset=offset, mode=spotify, local=local,
        spotify=outcome, hits=hits, took_ms=took_ms, timings=timings,
    )  # fmt: skip
