"""GET /api/spotify/me/...: the caller's own library from the database, paged, documented."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses

from tests.core.test_openapi import conforms
from tests.library.web.conftest import NEWEST, Library

PLAYLISTS = "/api/spotify/me/playlists/"
PLAYS = "/api/spotify/me/recently-played/"
GAPS = "/api/spotify/me/gaps/"
SYNC = "/api/spotify/me/sync/"


@pytest.fixture
def schema(api_client) -> dict[str, Any]:
    return api_client.get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def as_alice(api_client, alice: Library):
    api_client.force_authenticate(alice.user)
    return api_client


@pytest.fixture(autouse=True)
def no_spotify():
    # Own data only, never proxied: any call to Spotify would fail the test.
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        yield


def test_playlists_in_my_order_paged(as_alice, alice, schema):
    first = as_alice.get(PLAYLISTS, {"limit": 2})
    conforms(schema, PLAYLISTS, "get", first)
    body = first.json()
    assert body["count"] == 3
    assert [p["name"] for p in body["results"]] == ["A Road Trip", "A Focus"]
    assert body["results"][0]["id"] == alice.playlists[0].spotify_id
    assert body["results"][0]["owner"] == {"id": "owner-alice", "display_name": "Alice"}
    rest = as_alice.get(body["next"]).json()
    assert [(p["name"], p["items_readable"]) for p in rest["results"]] == [
        ("A Followed Mix", False)
    ]


@pytest.mark.parametrize("limit", ["0", "201", "many"])
def test_playlists_refuse_a_bad_limit(as_alice, schema, limit):
    response = as_alice.get(PLAYLISTS, {"limit": limit})
    conforms(schema, PLAYLISTS, "get", response)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("limit:")


def test_playlist_with_its_items_paged(as_alice, alice, schema):
    template = "/api/spotify/me/playlists/{spotify_id}/"
    url = f"/api/spotify/me/playlists/{alice.playlists[0].spotify_id}/"
    response = as_alice.get(url, {"limit": 3})
    conforms(schema, template, "get", response)
    body = response.json()
    assert body["name"] == "A Road Trip" and body["items"]["count"] == 4
    assert [i["name"] for i in body["items"]["results"]] == ["A Song 0", "A Song 1", "A Song 2"]
    assert body["items"]["results"][0]["song"]["title"] == "A Song 0"
    local = as_alice.get(body["items"]["next"]).json()["items"]["results"]
    assert [(i["kind"], i["name"], i["song"]) for i in local] == [
        ("local", "A home demo.mp3", None)
    ]


def test_a_playlist_that_is_not_mine_is_not_found(as_alice, schema):
    response = as_alice.get("/api/spotify/me/playlists/nosuchplaylist0000000/")
    conforms(schema, "/api/spotify/me/playlists/{spotify_id}/", "get", response)
    assert response.status_code == 404


def test_plays_newest_first_by_cursor(as_alice, alice, schema):
    first = as_alice.get(PLAYS, {"limit": 25})
    conforms(schema, PLAYS, "get", first)
    body = first.json()
    assert [p["played_at"] for p in body["results"][:2]] == [
        "2026-11-29T20:00:00.123000Z",
        "2026-11-29T19:58:30.123000Z",
    ]
    seen = [p["played_at"] for p in body["results"]]
    url = body["next"]
    while url:
        page = as_alice.get(url).json()
        seen += [p["played_at"] for p in page["results"]]
        url = page["next"]
    assert len(seen) == 60 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert body["results"][0]["track_uri"] == f"spotify:track:{alice.plays[0].track_id}"


def test_plays_between_from_and_to(as_alice):
    start = (NEWEST - timedelta(minutes=15)).isoformat()
    end = (NEWEST - timedelta(minutes=3)).isoformat()
    body = as_alice.get(PLAYS, {"from": start, "to": end}).json()
    # Plays every 90 s: 3 min ago (excluded: ``to`` is exclusive) back to 15 min ago.
    assert len(body["results"]) == 8
    assert body["results"][0]["played_at"] == "2026-11-29T19:55:30.123000Z"
    assert body["results"][-1]["played_at"] == "2026-11-29T19:45:00.123000Z"


def test_plays_accept_a_date_alone(as_alice):
    assert as_alice.get(PLAYS, {"from": "2026-11-30"}).json()["results"] == []
    assert len(as_alice.get(PLAYS, {"from": "2026-11-29", "limit": 200}).json()["results"]) == 60


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-45"}, "to"),
        ({"from": "2026-11-29T10:00:00Z", "to": "2026-11-29T09:00:00Z"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "cD1ub3QtYS1kYXRl"}, "cursor"),  # p=not-a-date
        ({"cursor": "bz0tNQ=="}, "cursor"),  # o=-5
    ],
)
def test_plays_refuse_bad_parameters_naming_them(as_alice, schema, params, field):
    response = as_alice.get(PLAYS, params)
    conforms(schema, PLAYS, "get", response)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


def test_gaps_all_or_open_only(as_alice, alice, schema):
    response = as_alice.get(GAPS)
    conforms(schema, GAPS, "get", response)
    gaps = response.json()["results"]
    assert [(g["filled"], g["filled_plays"]) for g in gaps] == [(False, 0), (True, 12)]
    open_only = as_alice.get(GAPS, {"open": "true"}).json()["results"]
    assert [g["id"] for g in open_only] == [alice.gaps[0].pk]
    bad = as_alice.get(GAPS, {"open": "perhaps"})
    conforms(schema, GAPS, "get", bad)
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("open:")


def test_the_schema_documents_the_bounds(schema):
    params = {p["name"]: p for p in schema["paths"][PLAYS]["get"]["parameters"]}
    assert {"from", "to", "cursor", "limit"} <= set(params)
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == 200
    for path in (PLAYLISTS, "/api/spotify/me/playlists/{spotify_id}/", GAPS, SYNC):
        listing = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert listing["limit"]["schema"]["maximum"] == 200, path
        assert listing["offset"]["schema"]["minimum"] == 0, path
    for path in (PLAYLISTS, PLAYS, GAPS, SYNC):
        assert "403" in schema["paths"][path]["get"]["responses"]
    assert "429" in schema["paths"][SYNC]["post"]["responses"]
    assert "429" not in schema["paths"][SYNC]["get"]["responses"]
    assert "202" in schema["paths"][SYNC]["post"]["responses"]
