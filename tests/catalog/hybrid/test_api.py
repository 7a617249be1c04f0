"""GET /api/songs/search/ with Spotify: the merged page, the sources, the header, the cache."""

from __future__ import annotations

import time

import pytest

from bench.fake_catalog import track_object
from catalog.models import Song
from core.breaker import spotify_breaker
from tests.catalog.factories import SongFactory
from tests.catalog.hybrid.conftest import SEARCH

pytestmark = pytest.mark.django_db


def halo(**kwargs):
    return track_object(
        name="Halo", artists=["Beyoncé"], album="I Am... Sasha Fierce", duration_ms=261_640,
        isrc="USSM10804556", release_date="2008-11-14", **kwargs,
    )  # fmt: skip


def test_a_spotify_only_song_is_marked_and_shaped_like_a_catalog_song(api_client, spotify_search):
    # Given a catalog without the song and Spotify with it
    SongFactory(title="Halo Effect", artists=["Someone Else"], duration_ms=200_000)
    track = halo(preview_url=None)
    spotify_search(track)

    response = api_client.get(SEARCH, {"q": "halo", "spotify": "always"})

    assert response.status_code == 200
    body = response.json()
    assert body["sources"]["spotify"]["status"] == "ok" and body["sources"]["spotify"]["hits"] == 1
    assert body["sources"]["local"]["total"] == 1
    first = body["results"][0]  # an exact title from Spotify comes before a partial local one
    assert first["source"] == "spotify" and first["in_catalog"] is False and first["score"] is None
    song = first["song"]
    assert song["id"] is None and song["title"] == "Halo"
    assert song["artists"] == [
        {"id": None, "name": "Beyoncé", "spotify_id": track["artists"][0]["id"]}
    ]
    assert song["album"]["id"] is None and song["album"]["spotify_id"] == track["album"]["id"]
    assert song["spotify"]["id"] == track["id"]
    assert song["spotify"]["url"] == f"https://open.spotify.com/track/{track['id']}"
    assert (song["duration_ms"], song["release_year"], song["isrc"]) == (
        261_640, 2008, "USSM10804556"
    )  # fmt: skip
    assert body["results"][1]["source"] == "local" and body["results"][1]["in_catalog"] is True
    assert body["total"] == 2
    timing = response["Server-Timing"]
    assert "local;dur=" in timing and "spotify;dur=" in timing and 'desc="ok"' in timing


@pytest.mark.parametrize(
    "local",
    [
        {"spotify_id": "SAME"},  # the same Spotify id
        {"isrc": "USSM10804556", "duration_ms": 261_640 + 7_000, "title": "Halo (Album)"},
        {"duration_ms": 261_640 - 2_500},  # title + main artist, within 3 s
    ],
    ids=["spotify-id", "isrc-within-8s", "title-artist-within-3s"],
)
def test_a_local_song_that_is_the_same_recording_wins_and_carries_the_link(
    api_client, spotify_search, local
):
    track = halo(track_id="4JehYebiI9JE8sR8MisGVb")
    if local.get("spotify_id") == "SAME":
        local = {"spotify_id": track["id"]}
    fields = {"title": "Halo", "duration_ms": 261_640, **local}
    song = SongFactory(artists=["Beyoncé"], **fields)
    spotify_search(track)

    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()

    assert [(r["source"], r["song"]["id"]) for r in body["results"]] == [("local", song.pk)]
    assert body["results"][0]["song"]["spotify"]["id"] == track["id"]
    assert body["results"][0]["song"]["spotify"]["url"].endswith(track["id"])
    assert Song.objects.get(pk=song.pk).spotify_id == local.get("spotify_id")  # not saved


def test_another_version_or_a_distant_duration_is_another_recording(api_client, spotify_search):
    SongFactory(title="Halo", artists=["Beyoncé"], duration_ms=261_640)
    live = track_object(name="Halo - Live", artists=["Beyoncé"], album="Live", duration_ms=261_000)
    longer = track_object(name="Halo", artists=["Beyoncé"], album="Mix", duration_ms=275_000)
    spotify_search(live, longer)

    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()

    assert [r["source"] for r in body["results"]] == ["local", "spotify", "spotify"]
    assert [r["song"]["title"] for r in body["results"]] == ["Halo", "Halo", "Halo - Live"]


def test_spotify_duplicates_of_one_recording_show_once(api_client, spotify_search, db):
    album = halo()
    single = track_object(
        name="Halo", artists=["Beyoncé"], album="Halo (Single)", duration_ms=261_000,
        isrc="USSM10804556",
    )  # fmt: skip
    spotify_search(album, single)

    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()

    assert [r["song"]["spotify"]["id"] for r in body["results"]] == [album["id"]]


def test_a_repeated_search_within_the_ttl_makes_no_spotify_call(
    api_client, spotify_search, spotify
):
    spotify_search(halo())
    first = api_client.get(SEARCH, {"q": "Halo", "spotify": "always"}).json()
    assert first["sources"]["spotify"]["status"] == "ok"
    spotify.rsps.calls.reset()

    again = api_client.get(SEARCH, {"q": "  HALO ", "spotify": "always"}).json()

    assert len(spotify.rsps.calls) == 0
    assert again["sources"]["spotify"]["status"] == "cached"
    assert again["results"] == first["results"]


def test_an_empty_answer_is_cached_briefly(api_client, spotify_search, spotify, settings):
    from django.core.cache import cache

    from catalog.hybrid.spotify import search_cache_key

    if not hasattr(cache, "ttl"):
        pytest.skip("needs Redis (REDIS_URL): reads the entry's time to live")
    spotify_search()
    api_client.get(SEARCH, {"q": "nothing like it", "spotify": "always"})
    ttl = cache.ttl(search_cache_key("nothing like it", 0))
    assert 0 < ttl <= settings.SEARCH_SPOTIFY_EMPTY_CACHE_SECONDS


def test_two_pages_are_fetched_when_the_page_holds_more_than_ten(api_client, spotify_search):
    tracks = [
        track_object(name=f"Song of Night {i}", artists=[f"Band {i}"], album="A",
                     duration_ms=200_000 + i * 10_000)
        for i in range(15)
    ]  # fmt: skip
    asked = spotify_search(*tracks)

    body = api_client.get(SEARCH, {"q": "night", "spotify": "always", "limit": 20}).json()

    assert [(a["offset"], a["limit"]) for a in asked] == [("0", "10"), ("10", "10")]
    assert body["sources"]["spotify"]["hits"] == 15 and len(body["results"]) == 15


def test_auto_asks_only_when_the_catalog_falls_short(api_client, spotify_search, spotify, settings):
    settings.SEARCH_SPOTIFY_MIN_LOCAL = 2
    asked = spotify_search(halo())
    for title in ("Love Song", "Love Song 2", "Love Song 3"):
        SongFactory(title=title, artists=["Band"])

    enough = api_client.get(SEARCH, {"q": "love song", "spotify": "auto"}).json()
    few = api_client.get(SEARCH, {"q": "halo", "spotify": "auto"}).json()
    no_exact = api_client.get(SEARCH, {"q": "love", "spotify": "auto"}).json()

    assert enough["sources"]["spotify"]["status"] == "skipped"
    assert few["sources"]["spotify"]["status"] == "ok"
    assert no_exact["sources"]["spotify"]["status"] == "ok"
    assert [a["q"] for a in asked] == ["halo", "love"]


def test_the_default_mode(api_client, spotify_search, settings):
    spotify_search(halo())
    settings.SEARCH_SPOTIFY_DEFAULT = "auto"
    assert api_client.get(SEARCH, {"q": "halo"}).json()["sources"]["spotify"]["status"] == "ok"
    settings.SPOTIFY_CLIENT_ID = ""
    body = api_client.get(SEARCH, {"q": "halo"}).json()
    assert body["sources"]["spotify"]["status"] == "skipped"
    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()
    assert body["sources"]["spotify"]["status"] == "not_configured"


def test_never_and_later_pages_stay_local(api_client, spotify_search, spotify):
    spotify_search(halo())
    SongFactory(title="Halo", artists=["Beyoncé"])
    never = api_client.get(SEARCH, {"q": "halo", "spotify": "never"}).json()
    later = api_client.get(SEARCH, {"q": "halo", "spotify": "always", "offset": 1}).json()
    assert never["sources"]["spotify"]["status"] == later["sources"]["spotify"]["status"]
    assert never["sources"]["spotify"]["status"] == "skipped"
    assert not spotify.calls_to("https://api.spotify.test/v1/search")


def test_a_slow_spotify_costs_the_budget_and_no_more(api_client, spotify_search, settings):
    settings.SEARCH_SPOTIFY_BUDGET_MS = 150
    SongFactory(title="Halo", artists=["Beyoncé"])
    spotify_search(halo(), delay=1.0)

    started = time.perf_counter()
    response = api_client.get(SEARCH, {"q": "halo", "spotify": "always"})
    elapsed_ms = (time.perf_counter() - started) * 1000

    body = response.json()
    assert response.status_code == 200 and body["sources"]["spotify"]["status"] == "timeout"
    assert [r["source"] for r in body["results"]] == ["local"]
    assert elapsed_ms < 150 + 250  # the budget, and the test client's own overhead
    assert spotify_breaker().state().failures == 1
    time.sleep(1.2)  # the late call finishes (and fills the cache) inside the test's mock
    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()
    assert body["sources"]["spotify"]["status"] == "cached"


def test_a_second_page_late_for_the_budget_still_shows_the_first(
    api_client, spotify_search, settings
):
    # Given Spotify answering the first page at once and the second one after the budget
    # (the margins are wide so that a loaded machine cannot turn one into the other)
    settings.SEARCH_SPOTIFY_BUDGET_MS = 1000
    tracks = [
        track_object(name=f"Song of Night {i}", artists=[f"Band {i}"], album="A",
                     duration_ms=200_000 + i * 10_000)
        for i in range(15)
    ]  # fmt: skip
    spotify_search(*tracks, delay=(0, 2.0))

    # When a page of 20 wants both of Spotify's pages
    body = api_client.get(SEARCH, {"q": "night", "spotify": "always", "limit": 20}).json()

    # Then the first page is shown, and Spotify is not blamed for being slow
    assert body["sources"]["spotify"]["status"] == "ok"
    assert body["sources"]["spotify"]["hits"] == 10 and len(body["results"]) == 10
    assert spotify_breaker().state().failures == 0
    time.sleep(1.2)  # the late page finishes inside the test's mock


@pytest.mark.parametrize(
    ("status", "expected", "counts"),
    [(500, "error", 1), (429, "rate_limited", 0)],
)
def test_spotify_failing_never_fails_the_request(
    api_client, spotify_search, status, expected, counts
):
    SongFactory(title="Halo", artists=["Beyoncé"])
    spotify_search(status=status)

    response = api_client.get(SEARCH, {"q": "halo", "spotify": "always"})

    assert response.status_code == 200
    body = response.json()
    assert body["sources"]["spotify"]["status"] == expected
    assert [r["song"]["title"] for r in body["results"]] == ["Halo"]
    assert spotify_breaker().state().failures == counts


def test_an_open_breaker_skips_spotify_until_a_probe_succeeds(
    api_client, spotify_search, spotify, settings
):
    settings.SEARCH_SPOTIFY_BREAKER_FAILURES = 2
    settings.SEARCH_SPOTIFY_BREAKER_OPEN_SECONDS = 1
    spotify_search(status=500)
    for q in ("one", "two"):
        assert api_client.get(SEARCH, {"q": q, "spotify": "always"}).status_code == 200
    spotify.rsps.calls.reset()

    body = api_client.get(SEARCH, {"q": "three", "spotify": "always"}).json()

    assert body["sources"]["spotify"]["status"] == "circuit_open"
    assert len(spotify.rsps.calls) == 0
    health = api_client.get("/healthz").json()
    assert health["status"] == "ok" and health["checks"]["spotify_breaker"]["state"] == "open"

    # Then Spotify recovers: after the open period one probe closes the breaker.
    spotify.rsps.reset()
    spotify_search(halo())
    time.sleep(1.05)
    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()
    assert body["sources"]["spotify"]["status"] == "ok"
    assert spotify_breaker().state().state == "closed"


def test_a_spotify_result_already_in_the_catalog_is_marked_so(api_client, spotify_search):
    track = halo()
    known = SongFactory(
        title="Halo (Remixed)", artists=["Other"], spotify_id=track["id"], release_year=2008
    )
    spotify_search(track)

    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always", "artist": "beyonce"}).json()

    assert body["sources"]["local"]["total"] == 0
    [hit] = body["results"]
    assert (hit["source"], hit["in_catalog"], hit["song"]["id"]) == ("spotify", True, known.pk)


def test_filters_apply_to_spotify_results(api_client, spotify_search):
    spotify_search(halo())
    for params in ({"year_max": 2000}, {"artist": "adele"}, {"has_spotify_id": "false"}):
        body = api_client.get(SEARCH, {"q": "halo", "spotify": "always", **params}).json()
        assert body["results"] == [], params


def test_latency_and_cache_use_are_counted(api_client, spotify_search):
    from core import metrics

    metrics.metrics_store().clear()
    spotify_search(halo())
    api_client.get(SEARCH, {"q": "halo", "spotify": "always"})
    api_client.get(SEARCH, {"q": "halo", "spotify": "always"})

    figures = metrics.metrics_store().read()
    cache_use = figures["encore_search_spotify_cache"]
    assert cache_use == {'["search","miss"]': 1.0, '["search","hit"]': 1.0}
    latency = figures["encore_search_duration_seconds"]
    assert latency['count|["spotify","ok"]'] == 1 and latency['count|["spotify","cached"]'] == 1
    assert latency['count|["local","ok"]'] == 2


def test_a_warm_search_records_its_metrics_in_one_round_trip(
    api_client, spotify_search, monkeypatch
):
    # Given a search Spotify already answered (metrics go to Redis: a round trip per write)
    from core import metrics

    spotify_search(halo())
    api_client.get(SEARCH, {"q": "halo", "spotify": "always"})
    writes: list[list[str]] = []
    add_many = metrics.MetricsStore.add_many

    def counting(self, changes):
        writes.append(sorted(changes))
        return add_many(self, changes)

    monkeypatch.setattr(metrics.MetricsStore, "add_many", counting)

    # When it is repeated
    api_client.get(SEARCH, {"q": "halo", "spotify": "always"})

    # Then its latency and its cache hit are one write
    assert writes == [["encore_search_duration_seconds", "encore_search_spotify_cache"]]


def test_the_merged_answer_conforms_to_the_openapi_schema(api_client, spotify_search):
    from tests.catalog.factories import AlbumFactory
    from tests.core.test_openapi import conforms

    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    # With an album: a null nested object (allOf + nullable) trips the OAS 3.0 validator, for
    # the catalog's songs as before hybrid search.
    SongFactory(
        title="Halo Effect", artists=["Someone Else"], duration_ms=200_000, album=AlbumFactory()
    )
    spotify_search(halo(), track_object(name="Halo", artists=["Other"], album="B",
                                        duration_ms=100_000, popularity=None))  # fmt: skip

    response = api_client.get(SEARCH, {"q": "halo", "spotify": "always"})

    assert {r["source"] for r in response.json()["results"]} == {"local", "spotify"}
    conforms(schema, "/api/songs/search/", "get", response)
    params = schema["paths"]["/api/songs/search/"]["get"]["parameters"]
    spotify = next(p for p in params if p["name"] == "spotify")
    assert sorted(spotify["schema"]["enum"]) == ["always", "auto", "never"]


def test_a_hostile_spotify_link_never_reaches_the_page(api_client, spotify_search, client):
    # Given a Spotify track whose external link is a script: the page puts the link in an
    # href and navigates to it on Enter, so it would run in Encore's origin
    track = halo()
    track["external_urls"] = {"spotify": "javascript:alert(document.cookie)"}
    spotify_search(track)

    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()
    page = client.get("/", {"q": "halo", "spotify": "always"}).content.decode()

    assert body["results"][0]["song"]["spotify"]["url"] == (
        f"https://open.spotify.com/track/{track['id']}"
    )
    assert "javascript:" not in page


def test_a_warm_two_page_search_reads_the_cache_in_one_round_trip(
    api_client, spotify_search, monkeypatch
):
    # Given a search of two Spotify pages, cached by a first request
    from django.core.cache import cache

    from catalog.hybrid import spotify as leg

    tracks = [
        track_object(name=f"Song of Night {i}", artists=[f"Band {i}"], album="A",
                     duration_ms=200_000 + i * 10_000)
        for i in range(15)
    ]  # fmt: skip
    spotify_search(*tracks)
    api_client.get(SEARCH, {"q": "night", "spotify": "always", "limit": 20})
    reads: list[str] = []

    class Counting:
        def __getattr__(self, name: str):
            if name in ("get", "get_many"):
                reads.append(name)
            return getattr(cache, name)

    monkeypatch.setattr(leg, "cache", Counting())

    # When it is searched again
    body = api_client.get(SEARCH, {"q": "night", "spotify": "always", "limit": 20}).json()

    # Then both pages come from one read of Redis
    assert (
        body["sources"]["spotify"]["status"] == "cached"
        and body["sources"]["spotify"]["hits"] == 15
    )
    assert reads == ["get_many"]


def test_a_call_still_queued_when_its_budget_ends_is_never_made(
    api_client, spotify_search, settings, monkeypatch
):
    # Given one worker, busy with a slow Spotify search
    from concurrent.futures import ThreadPoolExecutor

    from catalog.hybrid import spotify as leg

    pool = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(leg, "_pool", pool)
    settings.SEARCH_SPOTIFY_BUDGET_MS = 100
    asked = spotify_search(halo(), delay=0.6)
    api_client.get(SEARCH, {"q": "halo", "spotify": "always"})

    # When another search times out while its call waits for the worker
    body = api_client.get(SEARCH, {"q": "crazy in love", "spotify": "always"}).json()
    pool.shutdown(wait=True)

    # Then that call is dropped: Spotify was asked once, for the first search only
    assert body["sources"]["spotify"]["status"] == "timeout"
    assert [a["q"] for a in asked] == ["halo"]


def test_a_local_search_that_spends_the_budget_does_not_count_against_spotify(
    api_client, spotify_search, settings, monkeypatch
):
    # Given a local search slower than the whole Spotify budget
    from catalog.hybrid import service

    settings.SEARCH_SPOTIFY_BUDGET_MS = 20
    spotify_search(halo())
    slow_search = service.song_search

    def song_search(**kwargs):
        time.sleep(0.05)
        return slow_search(**kwargs)

    monkeypatch.setattr(service, "song_search", song_search)

    # When "auto" then decides Spotify is worth asking, with no time left
    body = api_client.get(SEARCH, {"q": "halo", "spotify": "auto"}).json()

    # Then Spotify is reported missing, but the breaker does not blame it
    assert body["sources"]["spotify"]["status"] == "timeout"
    assert spotify_breaker().state().failures == 0


@pytest.mark.parametrize("first", ["never", "always"])
def test_a_cached_local_song_still_carries_the_link_of_its_spotify_twin(
    api_client, spotify_search, search_cache_on, first
):
    # The local result comes from the search cache (kept by a first search of either mode):
    # merging Spotify's twin into it shows the link, as for a fresh result, and the kept
    # result is not changed by it.
    song = SongFactory(title="Halo", artists=["Beyoncé"], duration_ms=261_640)
    track = halo(track_id="4JehYebiI9JE8sR8MisGVb")
    spotify_search(track)
    api_client.get(SEARCH, {"q": "halo", "spotify": first})

    body = api_client.get(SEARCH, {"q": "halo", "spotify": "always"}).json()
    again = api_client.get(SEARCH, {"q": "halo", "spotify": "never"}).json()

    assert body["sources"]["local"]["cached"] is True
    assert [(r["source"], r["song"]["id"]) for r in body["results"]] == [("local", song.pk)]
    assert body["results"][0]["song"]["spotify"]["id"] == track["id"]
    assert again["sources"]["local"]["cached"] is True
    assert again["results"][0]["song"]["spotify"]["id"] is None  # the link was never kept
