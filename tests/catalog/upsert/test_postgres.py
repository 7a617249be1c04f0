import threading

import pytest
from django.db import connection

from catalog.models import Artist, Song, SongArtist
from catalog.records import SongRecord
from catalog.services import song_records_upsert
from catalog.upsert import batch, postgres, prepare


@pytest.mark.django_db
def test_text_that_copy_and_array_literals_treat_specially_is_stored_as_given():
    # PostgreSQL receives rows as COPY text with the artists as array literals: tabs,
    # newlines, backslashes, quotes, commas and braces must all arrive unchanged.
    title = 'Tab\there, new\nline, back\\slash, "quoted" {braced}\r'
    artists = ['Art "The" \\ Ist', "Comma, Inc.", "{Braces}", "NULL"]
    song_records_upsert(
        records=[SongRecord(title=title, artists=artists, album="Al\\bum\t{1}", isrc=None)]
    )
    song = Song.objects.get()
    assert song.title == title
    assert [sa.artist.name for sa in song.song_artists.order_by("position")] == artists
    assert song.album.title == "Al\\bum\t{1}"
    assert song.artist_names == ", ".join(artists)


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's concurrent writes and errors"
)


def _records(n: int, artist: str = "Racer") -> list[SongRecord]:
    return [
        SongRecord(title=f"Race {i}", artists=[f"{artist} {i}"], spotify_id=f"{i:022d}")
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_two_imports_of_the_same_songs_at_once_both_finish(monkeypatch):
    """In opposite orders they deadlock, or one trips on the other's Spotify id: the batch
    that fails is written again, both finish, and the songs exist once."""
    # Different artists, so that neither import waits on the other before the songs.
    first, second = _records(300), list(reversed(_records(300, artist="Rider")))
    errors: list[BaseException] = []
    both_resolved = threading.Barrier(2, timeout=10)
    resolve_keys = batch.resolve_keys

    waited: set[int] = set()

    def resolve_then_wait(items):
        keys = resolve_keys(items)
        if threading.get_ident() not in waited:  # a batch written again goes straight on
            waited.add(threading.get_ident())
            both_resolved.wait()
        return keys

    monkeypatch.setattr(batch, "resolve_keys", resolve_then_wait)

    def run(batch: list[SongRecord]) -> None:
        try:
            song_records_upsert(records=batch, batch_size=300)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(batch,)) for batch in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Song.objects.count() == 300 and SongArtist.objects.count() == 300
    assert Artist.objects.count() == 600


def test_a_prepared_row_has_one_field_for_each_staging_column():
    record = SongRecord(title="T", artists=["A", "B"], album="Al", isrc="USABC2400001")
    tail = prepare(record, copy_text=True).copy_tail
    # seq, identity_key, is_line and is_song are written in front of the prepared part
    assert len(tail.split("\t")) == len(postgres.STAGE_COLUMNS) - 4
