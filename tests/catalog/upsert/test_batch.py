import random

import psycopg.errors
import pytest
from django.db import IntegrityError, connection, transaction

from catalog.models import Album, Artist, Song, SongArtist
from catalog.records import SongRecord
from catalog.services import song_import, song_records_upsert
from catalog.upsert import batch, song_upsert_many
from tests.catalog.samples import GOOD, HEADER


@pytest.mark.django_db
def test_import_never_erases_values_it_does_not_give(write_file):
    song_import(path=write_file("a.csv", GOOD))
    Song.objects.filter(isrc="GBUM71029604").update(popularity=88)
    sparse = HEADER + "Bohemian Rhapsody,Queen,,,,,,4u7EnebtmKWzUH433cf5Qv\n"
    song_import(path=write_file("b.csv", sparse))
    song = Song.objects.get(spotify_id="4u7EnebtmKWzUH433cf5Qv")
    assert song.popularity == 88 and song.isrc == "GBUM71029604"
    assert song.album.title == "A Night at the Opera" and song.duration_ms == 354000


@pytest.mark.django_db
def test_repeated_song_in_one_batch_is_written_once(write_file):
    text = HEADER + "Same,Artist,Album,1000,,,,\n" + "Same,Artist,Album,2000,,,,\n"
    report = song_import(path=write_file("dup.csv", text))
    assert Song.objects.count() == 1
    assert Song.objects.get().duration_ms == 2000
    assert report.created == 1 and report.unchanged == 1


@pytest.mark.django_db
def test_one_batch_naming_one_track_twice_is_one_song(write_file):
    song_import(path=write_file("a.csv", HEADER + "Song,Artist,Album,1000,USABC2400001,,,\n"))
    text = (
        HEADER
        + "Song,Artist,Album,1000,USABC2400001,,,0000000000000000000001\n"
        + "Song,Artist,Other Album,1000,,,,0000000000000000000001\n"
    )
    song_import(path=write_file("b.csv", text))
    song = Song.objects.get()
    assert song.spotify_id == "0000000000000000000001" and song.isrc == "USABC2400001"
    assert song.album.title == "Other Album"


@pytest.mark.django_db
def test_big_batches_fit_the_database_parameter_limits(write_file):
    rows = "".join(f"Song {i},Artist {i},Album {i},1000,,,,\n" for i in range(2500))
    report = song_import(path=write_file("big.csv", HEADER + rows), batch_size=5000)
    assert report.created == 2500 and Song.objects.count() == 2500


def _catalog_state() -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Every song by its identity, with its album and its artists in order; every artist and
    album as stored."""
    links: dict[int, list[str]] = {}
    for link in SongArtist.objects.select_related("artist").order_by("song_id", "position"):
        links.setdefault(link.song_id, []).append(link.artist.name)
    songs = sorted(
        (
            song.identity_key,
            song.title,
            song.artist_names,
            song.artists_norm,
            song.album_norm,
            song.album.album_key if song.album_id else None,
            tuple(links.get(song.id, [])),
            song.isrc,
            song.spotify_id,
            song.duration_ms,
            song.release_year,
            song.popularity,
            song.album_image_url,
        )
        for song in Song.objects.select_related("album")
    )
    artists = sorted(Artist.objects.values_list("name_key", "name"))
    albums = sorted(
        Album.objects.values_list(
            "album_key", "title", "main_artist_name", "image_url", "release_year"
        )
    )
    return songs, artists, albums  # fmt: skip


def _messy_records(rng: random.Random) -> list[SongRecord]:
    """Lines that repeat songs with other values, leave artists or album out, and share
    Spotify ids and ISRCs between songs."""
    return [
        SongRecord(
            title=rng.choice(["One", "Two", "Three"]),
            # Names that are one artist or album written differently ("Á" and "a").
            artists=rng.choice([[], ["A"], ["Á"], ["B"], ["b", "A"]]),
            album=rng.choice([None, "X", "x", "Y"]),
            spotify_id=rng.choice([None, None, "0" * 21 + "1", "0" * 21 + "2"]),
            isrc=rng.choice([None, None, "USABC2400001", "USABC2400002"]),
            duration_ms=rng.choice([None, 1000, 2000]),
            popularity=rng.choice([None, 10, 90]),
            album_image_url=rng.choice([None, "https://i.test/1.jpg", "https://i.test/2.jpg"]),
            release_year=rng.choice([None, 1999, 2001]),
        )
        for _ in range(rng.randint(2, 14))
    ]


class _Undo(Exception):
    pass


def _state_after_import(records: list[SongRecord], batch_size: int) -> list[tuple]:
    try:
        with transaction.atomic():
            song_records_upsert(records=records, batch_size=batch_size)
            state = _catalog_state()
            raise _Undo
    except _Undo:
        return state


@pytest.mark.django_db
def test_the_catalog_an_import_leaves_does_not_depend_on_its_batch_size():
    """Lines of one song in one batch are merged; in separate batches the later one updates
    the song. Both must come to the same songs, albums and artists."""
    rng = random.Random(11)
    for _ in range(25):
        records = _messy_records(rng)
        one_by_one = _state_after_import(records, batch_size=1)
        assert _state_after_import(records, batch_size=1000) == one_by_one, records


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_line_without_artists_or_album_keeps_the_stored_ones(write_file, batch_size):
    text = (
        HEADER
        + "Song,Artist; Guest,Album,1000,USABC2400001,,,\n"
        + "Song (Remix),,,2000,USABC2400001,,,\n"
    )
    report = song_import(path=write_file("a.csv", text), batch_size=batch_size)
    song = Song.objects.get()
    assert [sa.artist.name for sa in song.song_artists.order_by("position")] == [
        "Artist",
        "Guest",
    ]
    assert (song.title, song.artist_names, song.duration_ms) == (
        "Song (Remix)",
        "Artist, Guest",
        2000,
    )
    assert (song.album.title, song.album.main_artist_name) == ("Album", "Artist")
    assert report.created == 1


@pytest.mark.django_db
def test_a_changed_line_updates_its_song_and_replaces_its_artists(write_file):
    song_import(path=write_file("a.csv", GOOD))
    changed = GOOD.replace("Crazy in Love,Beyoncé; JAY-Z,", "Crazy in Love,Beyoncé; JAY-Z; Guest,")
    changed = changed.replace(
        "Hoppípolla,Sigur Rós,Takk...,268000", "Hoppípolla,Sigur Rós,Takk...,270000"
    )
    song_ids = dict(Song.objects.values_list("title", "id"))

    report = song_import(path=write_file("b.csv", changed))

    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    assert dict(Song.objects.values_list("title", "id")) == song_ids
    crazy = Song.objects.get(title="Crazy in Love")
    names = [sa.artist.name for sa in crazy.song_artists.order_by("position")]
    assert names == ["Beyoncé", "JAY-Z", "Guest"]
    assert crazy.artist_names == "Beyoncé, JAY-Z, Guest"
    assert Song.objects.get(title="Hoppípolla").duration_ms == 270000


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's concurrent writes and errors"
)


def _records(n: int, artist: str = "Racer") -> list[SongRecord]:
    return [
        SongRecord(title=f"Race {i}", artists=[f"{artist} {i}"], spotify_id=f"{i:022d}")
        for i in range(n)
    ]


@pytest.mark.django_db
@postgres_only
def test_a_batch_that_meets_a_concurrent_import_is_written_again(monkeypatch):
    calls = []
    write = batch.write_postgres

    def racing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("duplicate key") from psycopg.errors.UniqueViolation()
        return write(*args, **kwargs)

    monkeypatch.setattr(batch, "write_postgres", racing_once)
    result = song_upsert_many(records=_records(3))
    assert len(calls) == 2 and result.created == 3
    assert Song.objects.count() == 3


@pytest.mark.django_db
@postgres_only
def test_a_batch_failing_for_another_reason_is_not_written_again(monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise IntegrityError("null value") from psycopg.errors.NotNullViolation()

    monkeypatch.setattr(batch, "write_postgres", failing)
    with pytest.raises(IntegrityError):
        song_upsert_many(records=_records(3))
    assert len(calls) == 1
