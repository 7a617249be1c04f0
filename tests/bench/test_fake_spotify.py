"""The benchmarks' fake Spotify answers with bodies the vendored spec accepts, and limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bench.fake_catalog import spotify_id, track_object
from bench.fake_spotify import FakeSpotify
from tests.spotify_integration.openapi import validate_response

pytestmark = pytest.mark.loopback

HALO = track_object(
    name="Halo", artists=["Beyoncé"], album="I Am... Sasha Fierce", duration_ms=261_640,
    isrc="USSM10804556", release_date="2008-11-14", popularity=80,
)  # fmt: skip
HALO_LIVE = track_object(
    name="Halo - Live", artists=["Beyoncé"], album="I Am... Yours", duration_ms=280_000,
    isrc="USSM10904001", release_date="2009", popularity=40, preview_url="https://p.scdn.co/x",
)  # fmt: skip
HALO_COVER = track_object(
    name="Halo", artists=["Karaoke Stars", "The Tribute Band"], album="Hits Karaoke",
    duration_ms=262_000, release_date="2012-03", popularity=10,
)  # fmt: skip
CATALOG = [HALO, HALO_LIVE, HALO_COVER]


def _start(**kwargs: Any) -> tuple[FakeSpotify, str, str]:
    fake = FakeSpotify(tracks=CATALOG, **kwargs)
    api, accounts = fake.start()
    return fake, api, accounts


@pytest.fixture
def dev() -> Iterator[tuple[FakeSpotify, requests.Session, str]]:
    fake, api, accounts = _start(mode="development")
    session = _session(accounts)
    yield fake, session, api
    fake.stop()


@pytest.fixture
def ext() -> Iterator[tuple[FakeSpotify, requests.Session, str]]:
    fake, api, accounts = _start(mode="extended")
    session = _session(accounts)
    yield fake, session, api
    fake.stop()


def _session(accounts: str) -> requests.Session:
    token = requests.post(
        accounts + "api/token", data={"grant_type": "client_credentials"}, timeout=5
    ).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    return session


def _search(session: requests.Session, api: str, q: str, **params: Any) -> requests.Response:
    return session.get(api + "search", params={"q": q, "type": "track", **params}, timeout=5)


def test_search_filters_rank_by_popularity_and_fit_the_spec(dev):
    fake, session, api = dev
    response = _search(session, api, 'track:"halo" artist:"beyonce"', limit=10)
    assert response.status_code == 200
    validate_response("/search", "GET", 200, response.json())
    names = [t["name"] for t in response.json()["tracks"]["items"]]
    assert names == ["Halo", "Halo - Live"]  # the cover's artists are not "Beyoncé"
    isrc = _search(session, api, "isrc:USSM10804556").json()["tracks"]["items"]
    assert [t["id"] for t in isrc] == [HALO["id"]]
    # free words must all appear; accents and case do not matter
    free = _search(session, api, "HALO karaoke").json()["tracks"]
    assert [t["id"] for t in free["items"]] == [HALO_COVER["id"]] and free["total"] == 1
    assert _search(session, api, 'track:"halo" album:"yours"').json()["tracks"]["total"] == 1
    assert _search(session, api, "nothing here").json()["tracks"]["items"] == []
    # development mode: limit at most 10
    too_many = _search(session, api, "halo", limit=11)
    assert too_many.status_code == 400
    validate_response("/search", "GET", 400, too_many.json())
    assert fake.calls["GET /search"] == 6


def test_search_pages(ext):
    _fake, session, api = ext
    first = _search(session, api, "halo", limit=2).json()["tracks"]
    second = _search(session, api, "halo", limit=2, offset=2).json()["tracks"]
    assert first["total"] == 3 and first["next"] and second["next"] is None
    assert len(first["items"]) + len(second["items"]) == 3
    assert _search(session, api, "halo", limit=50).status_code == 200


def test_track_and_its_404(dev):
    _fake, session, api = dev
    ok = session.get(api + f"tracks/{HALO['id']}", timeout=5)
    validate_response("/tracks/{id}", "GET", 200, ok.json())
    assert ok.json()["external_ids"]["isrc"] == "USSM10804556"
    missing = session.get(api + f"tracks/{spotify_id('nobody')}", timeout=5)
    assert missing.status_code == 404
    validate_response("/tracks/{id}", "GET", 404, missing.json())


def test_batch_endpoints_are_refused_in_development_mode(dev):
    fake, session, api = dev
    for path, spec_path in (("tracks", "/tracks"), ("audio-features", "/audio-features")):
        response = session.get(api + path, params={"ids": HALO["id"]}, timeout=5)
        assert response.status_code == 403
        validate_response(spec_path, "GET", 403, response.json())
    assert fake.calls["GET /tracks"] == fake.calls["GET /audio-features"] == 1


def test_batch_endpoints_in_extended_mode(ext):
    _fake, session, api = ext
    ids = f"{HALO['id']},{HALO_LIVE['id']}"
    tracks = session.get(api + "tracks", params={"ids": ids}, timeout=5)
    validate_response("/tracks", "GET", 200, tracks.json())
    assert [t["name"] for t in tracks.json()["tracks"]] == ["Halo", "Halo - Live"]
    features = session.get(api + "audio-features", params={"ids": ids}, timeout=5)
    validate_response("/audio-features", "GET", 200, features.json())
    assert len(features.json()["audio_features"]) == 2
    too_many = ",".join(spotify_id(str(i)) for i in range(51))
    assert session.get(api + "tracks", params={"ids": too_many}, timeout=5).status_code == 400


def test_rolling_window_answers_429_with_retry_after():
    fake, api, accounts = _start(mode="development", limit=3, window_s=30)
    try:
        session = _session(accounts)
        statuses = [session.get(api + f"tracks/{HALO['id']}", timeout=5) for _ in range(5)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
        limited = statuses[-1]
        assert 1 <= int(limited.headers["Retry-After"]) <= 30
        validate_response("/tracks/{id}", "GET", 429, limited.json())
        assert limited.json()["error"]["reason"] == "QUOTA_EXCEEDED"
        assert fake.rate_limited == 2 and fake.calls["GET /tracks/{id}"] == 5
        fake.reset_counters()
        assert fake.api_calls == 0
    finally:
        fake.stop()


def test_unauthorized_without_a_token(dev):
    _fake, _, api = dev
    response = requests.get(api + f"tracks/{HALO['id']}", timeout=5)
    assert response.status_code == 401
    validate_response("/tracks/{id}", "GET", 401, response.json())


def test_the_real_client_talks_to_it(dev, settings, db):
    from spotify_integration.client import SpotifyClient

    fake, _, _ = dev
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = fake.urls
    client = SpotifyClient.for_app()
    page = client.search_tracks(query='track:"halo" artist:"beyoncé"', limit=10)
    assert page["items"][0]["id"] == HALO["id"]
    assert client.track(HALO_LIVE["id"])["preview_url"] == "https://p.scdn.co/x"
    [one] = client.tracks([HALO["id"]])  # one by one in development mode
    assert one is not None and one["id"] == HALO["id"]
    assert fake.calls["GET /tracks"] == 0 and fake.calls["GET /tracks/{id}"] == 2
