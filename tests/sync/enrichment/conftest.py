"""Spotify mocked at the wire for the enrichment kinds: the Spotify integration's fixtures
(the fake, and a clean budget, pause mark and endpoint memory in every test)."""

from tests.catalog.enrichment.conftest import spotify_catalog  # noqa: F401
from tests.spotify_integration.conftest import (  # noqa: F401
    _isolated_spotify_state,
    _no_token_in_logs,
    spotify,
)
