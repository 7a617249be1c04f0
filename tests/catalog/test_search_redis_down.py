"""With the shared cache (Redis) refused or hung, search answers from PostgreSQL: the Spotify
leg reports an error instead of the request failing (issue 14)."""

from __future__ import annotations

import pytest

from tests.faults import redis_hung, redis_refused

pytestmark = [pytest.mark.django_db, pytest.mark.loopback]


@pytest.mark.parametrize("fault", [redis_refused, redis_hung])
@pytest.mark.parametrize("mode", ["auto", "always"])
def test_search_answers_from_the_catalog_without_redis(api_client, demo_catalog, fault, mode):
    with fault():
        response = api_client.get("/api/songs/search/", {"q": "bohemian", "spotify": mode})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["results"][0]["song"]["title"] == "Bohemian Rhapsody"
    assert body["sources"]["spotify"]["status"] == "error"
