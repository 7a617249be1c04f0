"""The lanes of the shared Spotify budget (their rules: :mod:`spotify_integration.ratelimit`)."""

from __future__ import annotations

from enum import StrEnum


class Lane(StrEnum):
    """Who is waiting for a Spotify call, highest priority first.

    * ``interactive``: a person waits for the answer (search, connect). Waits briefly
      (``SPOTIFY_RATE_LIMIT_WAIT``), then gets ``spotify_rate_limited``. Only it may take
      the ``SPOTIFY_INTERACTIVE_RESERVE`` of each window.
    * ``library``: a user's library sync. Goes after waiting interactive callers.
    * ``enrichment``: catalog jobs. Uses only what the others leave: at most
      ``SPOTIFY_ENRICHMENT_SHARE`` of the window while another lane is active in it, all but
      the reserve when none is.

    Library and enrichment calls wait for budget (``SPOTIFY_BACKGROUND_WAIT``) rather than
    fail at once. See docs/spotify.md, "Budget lanes".
    """

    INTERACTIVE = "interactive"
    LIBRARY = "library"
    ENRICHMENT = "enrichment"


LANES: tuple[Lane, ...] = (Lane.INTERACTIVE, Lane.LIBRARY, Lane.ENRICHMENT)
