import pytest

from catalog.models import Song
from catalog.selectors import song_list, songs_for_display
from tests.catalog.factories import AlbumFactory, SongFactory

pytestmark = pytest.mark.django_db


def test_songs_for_display_reads_albums_and_ordered_artists_in_two_more_queries(
    django_assert_num_queries,
):
    album = AlbumFactory(title="Dangerously in Love")
    for n in range(3):
        SongFactory(title=f"Song {n}", album=album, artists=["Beyoncé", "JAY-Z", f"Guest {n}"])
    with django_assert_num_queries(2):
        songs = list(songs_for_display().order_by("id"))
        shown = [(s.album.title, [sa.artist.name for sa in s.song_artists.all()]) for s in songs]
    assert shown == [("Dangerously in Love", ["Beyoncé", "JAY-Z", f"Guest {n}"]) for n in range(3)]


def test_songs_for_display_narrows_the_songs_it_is_given():
    SongFactory(title="Keep", artists=["A"])
    SongFactory(title="Drop", artists=["B"])
    songs = songs_for_display(songs=Song.objects.filter(title="Keep"))
    assert [(s.title, s.song_artists.all()[0].artist.name) for s in songs] == [("Keep", "A")]


def test_song_list_filters_by_artist_ignoring_accents_in_id_order():
    first = SongFactory(title="Halo", artists=["Beyoncé"])
    SongFactory(title="Other", artists=["Someone"])
    second = SongFactory(title="Crazy in Love", artists=["Beyoncé", "JAY-Z"])
    assert [s.id for s in song_list(artist="beyonce")] == [first.id, second.id]
