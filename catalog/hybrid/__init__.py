"""Hybrid search: the catalog first, Spotify when it helps, one merged list (docs/search.md).

``hybrid_search`` (service), ``hybrid_response_data`` and ``server_timing`` (the response),
``cached_track`` (a Spotify track a search lately returned).
"""

from __future__ import annotations

from catalog.hybrid.response import hybrid_response_data, server_timing, spotify_song_data
from catalog.hybrid.service import (
    MODES,
    STATUSES,
    HybridResult,
    SpotifyLegResult,
    default_mode,
    hybrid_search,
)
from catalog.hybrid.spotify import cached_track

__all__ = [
    "MODES",
    "STATUSES",
    "HybridResult",
    "SpotifyLegResult",
    "cached_track",
    "default_mode",
    "hybrid_response_data",
    "hybrid_search",
    "server_timing",
    "spotify_song_data",
]
