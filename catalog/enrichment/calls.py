"""What enrichment counts as a Spotify call: a request to the Web API.

``count_spotify_calls()`` also sees the accounts service's token requests (one an hour, for
the app token, whoever needs it first); the figures of the enrichment jobs ("20 calls per
1,000 tracks") and a job's ``spotify_calls`` are Web API requests, so those are left out.
"""

from __future__ import annotations

from spotify_integration.metrics import SpotifyCallCounter

ACCOUNTS_ENDPOINT_PREFIX = "POST /api/token"


def web_api_calls(counter: SpotifyCallCounter) -> dict[str, int]:
    """The Web API requests the counter saw, by endpoint."""
    return {
        endpoint: n
        for endpoint, n in counter.by_endpoint().items()
        if not endpoint.startswith(ACCOUNTS_ENDPOINT_PREFIX)
    }


def web_api_total(counter: SpotifyCallCounter) -> int:
    return sum(web_api_calls(counter).values())


def add_calls(into: dict[str, int], counter: SpotifyCallCounter) -> int:
    """Add the counter's Web API requests to ``into`` (by endpoint); their number."""
    calls = web_api_calls(counter)
    for endpoint, n in calls.items():
        into[endpoint] = into.get(endpoint, 0) + n
    return sum(calls.values())
