import pytest

from catalog.models import Song
from tests.catalog.factories import SongFactory

pytestmark = pytest.mark.django_db
SEARCH = "/api/songs/search/"


def test_search_endpoint_shape(api_client, demo_catalog):
    response = api_client.get(SEARCH, {"q": "bohemain rapsody", "limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["results"][0]["song"]["title"] == "Bohemian Rhapsody"
    assert body["results"][0]["song"]["artists"][0]["name"] == "Queen"
    assert body["results"][0]["score"] > 0
    assert body["query"]["normalized"] == "bohemain rapsody"
    assert body["query"]["terms"][0] == {
        "term": "bohemain",
        "corrections": ["bohemian"],
        "completions": None,
        "relaxed": False,
    }
    assert body["query"]["corrected"] == "bohemian rhapsody"
    assert body["total"] == 1 and body["total_is_exact"] is True and body["has_more"] is False
    assert body["limit"] == 3 and body["offset"] == 0 and body["took_ms"] >= 0


def test_search_filters_and_paging_through_the_api(api_client, demo_catalog):
    body = api_client.get(SEARCH, {"q": "halo", "artist": "beyonce"}).json()
    assert [r["song"]["artist_names"] for r in body["results"]] == ["Beyoncé"]
    assert body["query"]["filters"] == {"artist": "beyonce"}
    page = api_client.get(SEARCH, {"q": "love", "limit": 2, "offset": 1}).json()
    assert len(page["results"]) == 2 and page["has_more"] is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "a", "limit": "ten"}, "limit"),
        ({"q": "a", "limit": 0}, "limit"),
        ({"q": "a", "limit": 101}, "limit"),
        ({"q": "a", "offset": -1}, "offset"),
        ({"q": "a", "offset": "x"}, "offset"),
        ({"q": "a", "offset": 5000}, "offset"),
        ({"q": "a", "year_min": "last year"}, "year_min"),
        ({"q": "a", "year_max": 99999}, "year_max"),
        ({"q": "a", "year_min": 2000, "year_max": 1990}, "year_min"),
        ({"q": "a", "explicit": "maybe"}, "explicit"),
        ({"q": "a", "artist": "x" * 201}, "artist"),
        ({"q": "a", "album": "a\x00"}, "album"),
    ],
)
def test_bad_search_input_is_a_400_naming_the_parameter(api_client, db, params, field):
    response = api_client.get(SEARCH, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith(f"{field}:")
    assert field in error["detail"]


def test_song_list_is_filterable_and_pages_stably(api_client, demo_catalog):
    first = api_client.get("/api/songs/", {"limit": 50}).json()
    ids = [s["id"] for s in first["results"]]
    assert ids == sorted(ids) and len(ids) == 50
    # A new song does not shift the next page.
    SongFactory(title="Brand New", artist_names="Someone")
    second = api_client.get(first["next"]).json()
    assert second["results"][0]["id"] == ids[-1] + 1

    queen = api_client.get("/api/songs/", {"artist": "queen", "year_max": 1976}).json()
    assert {s["title"] for s in queen["results"]} >= {"Bohemian Rhapsody"}
    assert all(s["release_year"] <= 1976 for s in queen["results"])


@pytest.mark.parametrize(
    ("params", "field"),
    [({"year_min": "x"}, "year_min"), ({"match_status": "sideways"}, "match_status"),
     ({"explicit": "perhaps"}, "explicit")],
)  # fmt: skip
def test_song_list_bad_filters_are_400(api_client, db, params, field):
    response = api_client.get("/api/songs/", params)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


def test_song_detail_and_404(api_client, demo_catalog):
    song = Song.objects.get(title="Crazy in Love")
    body = api_client.get(f"/api/songs/{song.id}/").json()
    assert [a["name"] for a in body["artists"]] == ["Beyoncé", "JAY-Z"]
    assert body["release_date"] == "2003"
    assert body["spotify"]["id"] is None
    missing = api_client.get("/api/songs/999999999/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_openapi_schema_documents_search_and_its_errors(api_client, db):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    search = schema["paths"]["/api/songs/search/"]["get"]
    assert {"200", "400"} <= set(search["responses"])
    assert any(p["name"] == "q" and p["required"] for p in search["parameters"])
    assert api_client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Sao_Paulo"])
def test_the_fast_song_representation_equals_drf_generic_output(demo_catalog, zone):
    from django.utils import timezone
    from rest_framework import serializers

    from catalog.selectors import songs_for_display
    from catalog.serializers import SongSerializer

    Song.objects.filter(title="Halo", artist_names="Beyoncé").update(
        spotify_id="0000000000000000000001", popularity=80, audio_features={"tempo": 80.1},
        spotify_synced_at=timezone.now(),
    )  # fmt: skip
    with timezone.override(zone):
        for song in songs_for_display().filter(title__in=["Halo", "Crazy in Love", "Hoppípolla"]):
            fast = SongSerializer().to_representation(song)
            assert fast == serializers.ModelSerializer.to_representation(SongSerializer(), song)


def test_search_results_read_with_the_page_equal_the_songs_loaded_by_the_orm(demo_catalog):
    """Search reads each result's album and artists in its ranking query; what it shows
    must be what the song's own rows say."""
    from catalog.search import song_search
    from catalog.selectors import songs_for_display
    from catalog.serializers import SongSerializer

    Song.objects.filter(title="Crazy in Love").update(
        audio_features={"tempo": 99.9}, explicit=True, popularity=70
    )
    Song.objects.filter(title="Halo").update(album=None)  # a result without an album
    for query in ["crazy in love", "halo", "sigur ros", "love"]:
        hits = song_search(query=query, limit=10).results
        assert hits, query
        loaded = {s.id: s for s in songs_for_display().filter(id__in=[h.song.id for h in hits])}
        for hit in hits:
            expected = SongSerializer().to_representation(loaded[hit.song.id])
            assert SongSerializer().to_representation(hit.song) == expected
