"""Adding a Spotify track to the catalog: the service and ``POST /api/songs/from-spotify/``
(Spotify at the wire, bodies validated against the vendored spec)."""

from __future__ import annotations

from datetime import date

import pytest
import responses

from catalog.enrichment.add import song_add_from_spotify
from catalog.enrichment.match import song_match
from catalog.models import MatchStatus, Song, SongMatch
from core.exceptions import ValidationFailed
from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import SpotifyNotFound
from tests.catalog.enrichment.wire import full_track, serve_tracks, spotify_id
from tests.spotify_integration.fakes import API, error_body

URL = "/api/songs/from-spotify/"
TRACK = spotify_id(7)


def tracks_asked(spotify) -> int:
    return len(spotify.calls_to(API + "tracks/"))


@pytest.fixture
def served(spotify, db):
    serve_tracks(spotify, missing={spotify_id(404)}, isrc="GBUM71029604")
    return spotify


def test_the_track_becomes_a_song_matched_by_hand(served, staff_user):
    song, created = song_add_from_spotify(spotify_id=TRACK, user=staff_user)

    assert created is True
    track = full_track(TRACK)
    song = Song.objects.get(pk=song.pk)
    assert song.title == track["name"]
    assert [sa.artist.name for sa in song.song_artists.order_by("position")] == [
        a["name"] for a in track["artists"]
    ]
    assert song.album is not None and song.album.title == "A Night at the Opera"
    assert (song.duration_ms, song.isrc, song.explicit) == (
        track["duration_ms"], "GBUM71029604", False,
    )  # fmt: skip
    assert song.release_date == date(1975, 11, 21) and song.release_year == 1975
    assert (song.spotify_id, song.spotify_uri) == (TRACK, f"spotify:track:{TRACK}")
    assert song.album_image_url == "https://i.scdn.co/image/large"  # the widest image
    assert song.preview_url == "https://p.scdn.co/mp3-preview/abc"
    assert song.match_status == MatchStatus.MATCHED
    match = SongMatch.objects.get(song=song)
    assert match.manual is True and match.decided_by == staff_user
    assert match.evidence["decision"] == {"added_from_spotify": TRACK, "by": "operator"}
    # The main artist and the album learn their Spotify ids, as a match gives them.
    assert song.album.spotify_id == track["album"]["id"]
    assert song.song_artists.get(position=0).artist.spotify_id == track["artists"][0]["id"]


def test_adding_twice_returns_the_same_song_without_asking_spotify(served, staff_user):
    first, created = song_add_from_spotify(spotify_id=TRACK, user=staff_user)
    asked = tracks_asked(served)

    again, created_again = song_add_from_spotify(spotify_id=TRACK, user=staff_user)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and Song.objects.count() == 1
    assert tracks_asked(served) == asked


def test_an_automatic_match_leaves_an_added_song_alone(served, staff_user):
    song, _ = song_add_from_spotify(spotify_id=TRACK, user=staff_user)

    assert song_match(song=song, client=SpotifyClient.for_app()) is None
    assert SongMatch.objects.get(song=song).manual is True


def test_a_song_with_the_isrc_but_no_spotify_id_gains_the_id_instead_of_a_twin(served, staff_user):
    song = Song(title="Bohemian Rhapsody", isrc="GBUM71029604")
    song.assign_identity_key()
    song.save()

    added, created = song_add_from_spotify(spotify_id=TRACK, user=staff_user)

    assert created is False and Song.objects.count() == 1
    assert added.pk == song.pk and Song.objects.get().spotify_id == TRACK


def test_a_malformed_id_is_refused_before_spotify_is_asked(spotify, staff_user):
    with pytest.raises(ValidationFailed, match="spotify_id"):
        song_add_from_spotify(spotify_id="not-an-id", user=staff_user)
    assert len(spotify.rsps.calls) == 0


def test_an_unknown_track_is_not_found(served, staff_user):
    with pytest.raises(SpotifyNotFound):
        song_add_from_spotify(spotify_id=spotify_id(404), user=staff_user)
    assert not Song.objects.exists()


# --- the API ---------------------------------------------------------------------------------


def test_staff_post_creates_then_finds_the_song(served, api_client, staff_user):
    api_client.force_authenticate(staff_user)

    first = api_client.post(URL, {"spotify_id": TRACK}, format="json")
    second = api_client.post(URL, {"spotify_id": TRACK}, format="json")

    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["spotify"]["id"] == TRACK and body["match_status"] == "matched"
    assert [a["name"] for a in body["artists"]] == ["Queen"]
    assert second.status_code == 200 and second.json()["id"] == body["id"]


def test_anonymous_is_401_and_non_staff_403(served, api_client, user):
    assert api_client.post(URL, {"spotify_id": TRACK}, format="json").status_code == 401
    api_client.force_authenticate(user)
    assert api_client.post(URL, {"spotify_id": TRACK}, format="json").status_code == 403
    assert not Song.objects.exists() and tracks_asked(served) == 0


@pytest.mark.parametrize("body", [{}, {"spotify_id": ""}, {"spotify_id": "abc"}, {"id": TRACK}])
def test_a_bad_id_is_a_400_naming_spotify_id(spotify, api_client, staff_user, body):
    api_client.force_authenticate(staff_user)

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("spotify_id:")


def test_an_unknown_track_is_a_404(served, api_client, staff_user):
    api_client.force_authenticate(staff_user)

    response = api_client.post(URL, {"spotify_id": spotify_id(404)}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "spotify_not_found"


def test_spotify_not_configured_is_a_503(spotify, api_client, staff_user, settings):
    settings.SPOTIFY_CLIENT_ID = ""
    api_client.force_authenticate(staff_user)

    response = api_client.post(URL, {"spotify_id": TRACK}, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "spotify_not_configured"


def test_spotify_rate_limit_is_a_429_with_retry_after(spotify, api_client, staff_user):
    spotify.token()
    spotify.api(
        responses.GET, "/tracks/{id}", path=f"tracks/{TRACK}", status=429,
        body=error_body(429, "API rate limit exceeded"), headers={"Retry-After": "7"},
    )  # fmt: skip
    api_client.force_authenticate(staff_user)

    response = api_client.post(URL, {"spotify_id": TRACK}, format="json")

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "spotify_rate_limited"
    assert not Song.objects.exists()


def test_spotify_down_is_a_503_not_a_500(spotify, api_client, staff_user):
    spotify.token()
    spotify.rsps.add(responses.GET, API + f"tracks/{TRACK}", status=503, body="")
    api_client.force_authenticate(staff_user)

    response = api_client.post(URL, {"spotify_id": TRACK}, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "spotify_unavailable"


def test_the_schema_documents_the_endpoint_and_its_errors(api_client, db):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["post"]

    assert set(operation["responses"]) >= {"200", "201", "400", "401", "403", "404", "429", "503"}
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert request_schema["required"] == ["spotify_id"]


def test_a_track_a_search_just_showed_is_added_without_a_call(spotify, staff_user):
    # Given the track in hybrid search's track cache (a Spotify-only result just shown)
    from django.core.cache import cache

    from catalog.hybrid.spotify import track_cache_key

    cache.set(track_cache_key(TRACK), full_track(TRACK))

    song, created = song_add_from_spotify(spotify_id=TRACK, user=staff_user)

    assert created is True and song.spotify_id == TRACK
    assert len(spotify.rsps.calls) == 0
