import pytest

from catalog.models import Song
from catalog.services import song_import
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
