import pytest
from django.db import transaction
from django.urls import reverse

from catalog.identity import free_key, identity_key_for
from catalog.models import Album, Artist, Song
from catalog.records import SongRecord
from catalog.services import song_import, song_records_upsert
from tests.catalog.factories import AlbumFactory, ArtistFactory, SongFactory
from tests.catalog.samples import HEADER


@pytest.mark.django_db
def test_identity_spotify_id_then_isrc_then_metadata(write_file):
    song_import(path=write_file("a.csv", HEADER + "Song,Artist,Album,1000,,,,\n"))
    # Same title/artist/album, now with an ISRC: the same song, enriched.
    song_import(path=write_file("b.csv", HEADER + "Song,Artist,Album,1000,USABC2400001,,,\n"))
    # The same ISRC under a new title: still that song (ISRC beats metadata).
    song_import(
        path=write_file("c.csv", HEADER + "Song (2024 Mix),Artist,Album,1000,USABC2400001,,,\n")
    )
    assert Song.objects.count() == 1
    assert Song.objects.get().title == "Song (2024 Mix)"
    # A Spotify id joins the ISRC's song; a different Spotify id with that ISRC is another
    # release of the recording, so another song.
    song_import(
        path=write_file(
            "d.csv", HEADER + "Song,Artist,Album,1000,USABC2400001,,,0000000000000000000001\n"
        )
    )
    song_import(
        path=write_file(
            "e.csv", HEADER + "Song,Artist,Best Of,1000,USABC2400001,,,0000000000000000000002\n"
        )
    )
    assert Song.objects.count() == 2
    assert set(Song.objects.values_list("spotify_id", flat=True)) == {
        "0000000000000000000001",
        "0000000000000000000002",
    }  # fmt: skip


@pytest.mark.django_db
def test_a_key_held_by_another_song_is_not_overwritten(write_file):
    path = write_file("a.csv", HEADER + "Song,Artist,Album,1000,USABC2400001,,,\n")
    song_import(path=path)
    Song.objects.update(isrc="USABC2400002", title="Renamed")  # an edit changes the ISRC
    report = song_import(path=path)
    assert report.created == 1
    assert set(Song.objects.values_list("title", "isrc")) == {
        ("Renamed", "USABC2400002"),
        ("Song", "USABC2400001"),
    }
    assert song_import(path=path).unchanged == 1  # and the new song is found next time


def test_the_natural_key_is_spotify_id_then_isrc_then_metadata():
    both = {"title": "Ça Plane", "main_artist": "Plastic Bertrand", "album": "An 1"}
    assert identity_key_for(spotify_id="0" * 22, isrc="usabc2400001", **both) == "sp:" + "0" * 22
    assert identity_key_for(spotify_id=None, isrc="usabc2400001", **both) == "isrc:USABC2400001"
    assert (
        identity_key_for(spotify_id=None, isrc=None, **both)
        == "meta:ca plane|plastic bertrand|an 1"
    )


def test_a_taken_key_gets_the_first_free_suffix():
    taken = {"isrc:USABC2400001", "isrc:USABC2400001#1"}
    assert free_key("isrc:USABC2400001", taken=taken.__contains__) == "isrc:USABC2400001#2"
    assert free_key("meta:a|b|", taken=taken.__contains__) == "meta:a|b|"


def _add_in_the_admin(client, *, title: str, isrc: str, spotify_id: str, album: Album | None,
                      artists: list[Artist]) -> Song:  # fmt: skip
    """Add a song through the admin's form, its artists in the inline (saved after the song)."""
    form = {
        "title": title, "album": album.pk if album else "", "duration_ms": "1000",
        "isrc": isrc, "release_date": "", "release_date_precision": "", "release_year": "",
        "explicit": "unknown", "spotify_id": spotify_id, "spotify_uri": "",
        "album_image_url": "", "popularity": "", "preview_url": "", "audio_features": "null",
        "match_status": "unmatched", "match_confidence": "",
        "song_artists-TOTAL_FORMS": str(len(artists)), "song_artists-INITIAL_FORMS": "0",
        "song_artists-MIN_NUM_FORMS": "0", "song_artists-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for n, artist in enumerate(artists):
        form[f"song_artists-{n}-artist"] = str(artist.pk)
        form[f"song_artists-{n}-position"] = str(n)
    before = set(Song.objects.values_list("id", flat=True))
    response = client.post(reverse("admin:catalog_song_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Song.objects.exclude(id__in=before).get()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("isrc", "spotify_id"),
    [("", ""), ("USABC2400001", ""), ("USABC2400001", "0000000000000000000001")],
)
def test_a_song_added_in_the_admin_has_the_key_an_import_gives_it(
    client, staff_user, isrc, spotify_id
):
    # Given the key an import of the song gives it (undone, so the catalog is empty again)
    record = SongRecord(
        title="Hoppípolla", artists=["Sigur Rós", "Guest"], album="Takk...",
        isrc=isrc or None, spotify_id=spotify_id or None, duration_ms=1000,
    )  # fmt: skip
    with transaction.atomic():
        song_records_upsert(records=[record])
        imported = Song.objects.get().identity_key
        transaction.set_rollback(True)
    assert not Song.objects.exists()
    # When an operator adds the same song in the admin
    client.force_login(staff_user)
    album = AlbumFactory(title="Takk...", main_artist_name="Sigur Rós")
    artists = [ArtistFactory(name="Sigur Rós"), ArtistFactory(name="Guest")]
    song = _add_in_the_admin(
        client, title="Hoppípolla", isrc=isrc, spotify_id=spotify_id, album=album, artists=artists
    )
    # Then it has the import's key, and importing the line finds it rather than adding one
    assert song.identity_key == imported
    assert song.artist_names == "Sigur Rós, Guest"
    assert song_records_upsert(records=[record]).created == 0
    assert Song.objects.count() == 1


@pytest.mark.django_db
def test_a_song_saved_with_artist_names_is_keyed_by_its_metadata_at_once():
    song = SongFactory(title="Halo", artist_names="Beyoncé", album=AlbumFactory(title="I Am"))
    assert song.identity_key == "meta:halo|beyonce|i am"
    linked = SongFactory(title="Halo", artists=["Beyoncé"], album=song.album)
    assert linked.identity_key == "meta:halo|beyonce|i am#1"


@pytest.mark.django_db
def test_a_song_added_in_the_admin_with_a_key_another_song_holds_gets_a_suffix(client, staff_user):
    # Given a song keyed by its ISRC
    held = SongFactory(title="Hoppípolla", isrc="USABC2400001", artists=["Sigur Rós"])
    assert held.identity_key == "isrc:USABC2400001"
    # When an operator adds another song with the same ISRC (a collision ISRCs do have)
    client.force_login(staff_user)
    song = _add_in_the_admin(
        client, title="Hoppípolla (Live)", isrc="USABC2400001", spotify_id="", album=None,
        artists=list(held.artists.all()),
    )  # fmt: skip
    # Then it is added with the first free key, as an import would key it, and the first
    # song keeps its own
    assert song.identity_key == "isrc:USABC2400001#1"
    held.refresh_from_db()
    assert held.identity_key == "isrc:USABC2400001"
