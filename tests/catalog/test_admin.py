import pytest
from django.urls import reverse

from tests.catalog.factories import AlbumFactory, SongFactory

pytestmark = pytest.mark.django_db


def test_the_artist_and_album_lists_count_their_songs(client, staff_user):
    album = AlbumFactory(title="Takk...")
    SongFactory(title="Hoppípolla", album=album, artists=["Sigur Rós"])
    SongFactory(title="Glósóli", album=album, artists=["Sigur Rós"])
    client.force_login(staff_user)

    artists = client.get(reverse("admin:catalog_artist_changelist"))
    albums = client.get(reverse("admin:catalog_album_changelist"))

    assert artists.status_code == albums.status_code == 200
    assert [(a.name, a.song_count) for a in artists.context["cl"].result_list] == [("Sigur Rós", 2)]
    assert [(a.title, a.song_count) for a in albums.context["cl"].result_list] == [("Takk...", 2)]


def test_removing_an_artist_in_the_admin_updates_the_song_s_names_and_search_text(
    client, staff_user
):
    song = SongFactory(title="Crazy in Love", artists=["Beyoncé", "JAY-Z"])
    links = list(song.song_artists.order_by("position"))
    key = song.identity_key
    client.force_login(staff_user)
    form = {
        "title": song.title, "album": "", "duration_ms": "", "isrc": "", "release_date": "",
        "release_date_precision": "", "release_year": "", "explicit": "unknown",
        "spotify_id": "", "spotify_uri": "", "album_image_url": "", "popularity": "",
        "preview_url": "", "audio_features": "null", "match_status": "unmatched",
        "match_confidence": "",
        "song_artists-TOTAL_FORMS": "2", "song_artists-INITIAL_FORMS": "2",
        "song_artists-MIN_NUM_FORMS": "0", "song_artists-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for n, link in enumerate(links):
        form |= {
            f"song_artists-{n}-id": str(link.pk),
            f"song_artists-{n}-song": str(song.pk),
            f"song_artists-{n}-artist": str(link.artist_id),
            f"song_artists-{n}-position": str(link.position),
        }
    form["song_artists-1-DELETE"] = "on"

    response = client.post(reverse("admin:catalog_song_change", args=[song.pk]), form)

    assert response.status_code == 302
    song.refresh_from_db()
    assert (song.artist_names, song.artists_norm) == ("Beyoncé", "beyonce")
    assert song.identity_key == key  # a song keeps its key when edited


def test_a_spotify_id_set_in_the_admin_is_a_manual_decision(client, staff_user):
    from catalog.enrichment.match import song_match
    from catalog.models import SongMatch

    # Given a song without a Spotify id
    song = SongFactory(title="Crazy in Love", artists=["Beyoncé"])
    link = song.song_artists.get()
    client.force_login(staff_user)
    form = {
        "title": song.title, "album": "", "duration_ms": "", "isrc": "", "release_date": "",
        "release_date_precision": "", "release_year": "", "explicit": "unknown",
        "spotify_id": "5IVuqXILoxVWvWEPm82Jxr", "spotify_uri": "", "album_image_url": "",
        "popularity": "", "preview_url": "", "audio_features": "null",
        "match_status": "unmatched", "match_confidence": "",
        "song_artists-TOTAL_FORMS": "1", "song_artists-INITIAL_FORMS": "1",
        "song_artists-MIN_NUM_FORMS": "0", "song_artists-MAX_NUM_FORMS": "1000",
        "song_artists-0-id": str(link.pk), "song_artists-0-song": str(song.pk),
        "song_artists-0-artist": str(link.artist_id), "song_artists-0-position": "0",
    }  # fmt: skip
    # When an operator sets its Spotify id by hand
    response = client.post(reverse("admin:catalog_song_change", args=[song.pk]), form)
    assert response.status_code == 302
    # Then that is a person's decision, and automatic matching leaves the song alone
    match = SongMatch.objects.get(song=song)
    assert match.manual and match.decided_by == staff_user and match.status == "matched"
    song.refresh_from_db()
    assert song_match(song=song, client=None) is None  # type: ignore[arg-type]
    assert song.spotify_id == "5IVuqXILoxVWvWEPm82Jxr"
