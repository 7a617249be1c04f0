import gzip
import io
import json
import random
import sys
import threading

import psycopg.errors
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from catalog import upsert
from catalog.models import Album, Artist, SearchWord, Song, SongArtist
from catalog.records import SongRecord
from catalog.services import ImportFileError, song_export, song_import, song_records_upsert
from catalog.upsert import prepare
from tests.catalog.conftest import HEADER

GOOD = (
    HEADER + "Bohemian Rhapsody,Queen,A Night at the Opera,354000,GBUM71029604,1975-10-31,false,"
    "4u7EnebtmKWzUH433cf5Qv\n"
    + "Crazy in Love,Beyoncé; JAY-Z,Dangerously in Love,236000,USSM10300080,2003,true,\n"
    + "Hoppípolla,Sigur Rós,Takk...,268000,,2005-09,,\n"
)


@pytest.mark.django_db
def test_csv_import_creates_songs_with_ordered_artists_and_albums(write_file):
    report = song_import(path=write_file("songs.csv", GOOD))

    assert (report.created, report.updated, report.skipped) == (3, 0, 0)
    crazy = Song.objects.get(title="Crazy in Love")
    assert [sa.artist.name for sa in crazy.song_artists.order_by("position")] == [
        "Beyoncé",
        "JAY-Z",
    ]
    assert crazy.artist_names == "Beyoncé, JAY-Z"
    assert crazy.album.title == "Dangerously in Love"
    assert crazy.explicit is True
    assert crazy.release_year == 2003 and crazy.release_date_precision == "year"
    queen = Song.objects.get(spotify_id="4u7EnebtmKWzUH433cf5Qv")
    assert queen.identity_key == "sp:4u7EnebtmKWzUH433cf5Qv"
    assert queen.duration_ms == 354000
    hopp = Song.objects.get(title="Hoppípolla")
    assert hopp.title_norm == "hoppipolla" and hopp.artists_norm == "sigur ros"
    assert hopp.release_date_precision == "month"
    assert SearchWord.objects.filter(word="hoppipolla").exists()


@pytest.mark.django_db
def test_importing_the_same_file_twice_leaves_the_same_rows(write_file):
    path = write_file("songs.csv", GOOD)
    song_import(path=path)
    before = list(Song.objects.order_by("id").values())
    artists = list(Artist.objects.order_by("id").values_list("id", "name"))

    again = song_import(path=path)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert list(Song.objects.order_by("id").values()) == before
    assert list(Artist.objects.order_by("id").values_list("id", "name")) == artists
    assert Album.objects.count() == 3


@pytest.mark.django_db
def test_jsonl_import_reads_lists_and_reports_bad_lines(write_file):
    lines = [
        {"title": "Halo", "artists": ["Beyoncé"], "album": "I Am... Sasha Fierce",
         "release_date": "2008", "duration_ms": 261000},
        "not json",
        {"title": "X", "artists": ["Y"], "colour": "red"},
        {"title": "Halo", "artists": ["Depeche Mode"], "album": "Violator", "duration": "4:30"},
    ]  # fmt: skip
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    report = song_import(path=write_file("songs.jsonl", text + "\n"))

    assert report.created == 2
    assert [(e.line, e.reason.split(" ")[0]) for e in report.errors] == [
        (2, "invalid"),
        (3, "unknown"),
    ]
    assert Song.objects.get(album__title="Violator").duration_ms == 270000


@pytest.mark.django_db
def test_bad_rows_are_reported_with_line_numbers_and_skipped(write_file):
    text = (
        HEADER
        + "Fine,A,B,1000,,,,\n"
        + ",Nobody,Nothing,1000,,,,\n"  # line 3: no title
        + "Bad Duration,X,Y,three minutes,,,,\n"  # line 4
        + "Bad Isrc,X,Y,1000,NOT-AN-ISRC,,,\n"  # line 5
        + "Nul Row,A\x00B,Alb,1000,,,,\n"  # line 6
        + "Bad Date,X,Y,1000,,31/12/1999,,\n"  # line 7
        + "Bad Id,X,Y,1000,,,,not-a-spotify-id\n"  # line 8
        + '"Multi\nline title",Z,Q,1000,,,,\n'  # lines 9-10: fine
        + "Too,Many,Columns,1,,,,,extra\n"  # line 11
    )
    report = song_import(path=write_file("bad.csv", text))

    reasons = {e.line: e.reason for e in report.errors}
    assert reasons[3] == "title: missing"
    assert reasons[4].startswith("duration_ms: cannot read")
    assert reasons[5].startswith("isrc:")
    assert reasons[6] == "artists: contains a NUL byte"
    assert reasons[7].startswith("release_date:")
    assert reasons[8].startswith("spotify_id:")
    assert reasons[11].startswith("expected 8 columns")
    assert report.skipped == 7 and report.created == 2
    assert set(Song.objects.values_list("title", flat=True)) == {"Fine", "Multi\nline title"}


@pytest.mark.django_db
def test_invalid_utf8_is_a_bad_row_not_a_failed_import(write_file):
    content = (HEADER + "Good,A,B,1000,,,,\n").encode() + b"Bad \xff\xfe,A,B,1000,,,,\n"
    report = song_import(path=write_file("latin1.csv", content))
    assert report.created == 1
    assert report.errors[0].line == 3 and "UTF-8" in report.errors[0].reason


@pytest.mark.django_db
def test_strict_writes_nothing_when_a_row_is_bad(write_file):
    path = write_file("strict.csv", GOOD + ",No title,X,1,,,,\n")
    report = song_import(path=path, strict=True)
    assert report.strict_refused and report.skipped == 1 and report.created == 0
    assert not Song.objects.exists()

    good = song_import(path=write_file("ok.csv", GOOD), strict=True)
    assert good.created == 3 and not good.strict_refused


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
def test_on_batch_reports_progress_and_can_stop_between_batches(write_file):
    rows = "".join(f"Song {i},Artist {i % 7},Album {i % 5},1000,,,,\n" for i in range(25))
    seen = []

    def on_batch(progress):
        seen.append((progress.rows_done, progress.rows_total))
        return len(seen) < 2  # stop after the second batch

    report = song_import(path=write_file("p.csv", HEADER + rows), batch_size=10, on_batch=on_batch)

    assert report.cancelled
    assert seen == [(10, 25), (20, 25)]
    assert Song.objects.count() == 20  # finished batches are kept


@pytest.mark.django_db
def test_gzip_files_are_read(write_file):
    report = song_import(path=write_file("songs.csv.gz", gzip.compress(GOOD.encode())))
    assert report.created == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("songs.txt", "x", "cannot tell the format"),
        ("songs.csv", "name,artists\nx,y\n", "no 'title' column"),
        ("songs.csv", "title,colour\nx,y\n", "unknown CSV columns: colour"),
    ],
)
def test_unreadable_files_are_refused(write_file, name, content, message):
    with pytest.raises(ImportFileError, match=message):
        song_import(path=write_file(name, content))


@pytest.mark.django_db
def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="does not exist"):
        song_import(path=tmp_path / "nope.csv")


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_is_a_round_trip(demo_catalog, tmp_path, fmt):
    first = io.StringIO()
    count = song_export(out=first, fmt=fmt)
    assert count == Song.objects.count()
    path = tmp_path / f"export.{fmt}"
    path.write_text(first.getvalue(), encoding="utf-8")
    rows_before = list(Song.objects.order_by("id").values())

    Song.objects.all().delete()
    report = song_import(path=path)
    assert report.created == count and report.skipped == 0

    second = io.StringIO()
    song_export(out=second, fmt=fmt)
    assert second.getvalue() == first.getvalue()
    # Re-importing onto the surviving rows changes nothing.
    Song.objects.all().delete()
    song_import(path=path)
    assert song_import(path=path).unchanged == count
    assert len(rows_before) == Song.objects.count()


@pytest.mark.django_db
def test_import_command_prints_a_summary_and_errors(write_file, capsys):
    path = write_file("cmd.csv", GOOD + ",x,y,1,,,,\n")
    call_command("import_songs", str(path))
    out, err = capsys.readouterr()
    assert "created 3, updated 0, unchanged 0, skipped 1" in out
    assert "line 5: title: missing" in err


@pytest.mark.django_db
def test_import_command_strict_fails_and_names_the_count(write_file):
    path = write_file("cmd.csv", GOOD + ",x,y,1,,,,\n")
    with pytest.raises(CommandError, match="1 bad rows, nothing was written"):
        call_command("import_songs", str(path), "--strict")
    assert not Song.objects.exists()


@pytest.mark.django_db
def test_export_command_writes_a_file_import_reads(tmp_path, write_file, capsys):
    song_import(path=write_file("in.csv", GOOD))
    out_path = tmp_path / "out.jsonl"
    call_command("export_songs", str(out_path))
    assert "exported 3 songs" in capsys.readouterr().out
    first = json.loads(out_path.read_text().splitlines()[0])
    assert first["artists"] == ["Queen"] and first["release_date"] == "1975-10-31"


@pytest.mark.django_db
def test_load_demo_catalog_is_deterministic(capsys):
    call_command("load_demo_catalog", "--size", "600")
    assert "created 600" in capsys.readouterr().out
    titles = list(Song.objects.order_by("id").values_list("title", "artist_names"))
    call_command("load_demo_catalog", "--size", "600")
    assert "unchanged 600" in capsys.readouterr().out
    assert list(Song.objects.order_by("id").values_list("title", "artist_names")) == titles
    assert Song.objects.filter(title="Bohemian Rhapsody", artist_names="Queen").exists()
    # Realistic text: accents, featured artists, remasters and live versions.
    assert Song.objects.filter(title__contains="(feat. ").exists()
    assert Song.objects.filter(title__contains="Remastered").exists()
    assert Song.objects.filter(title__contains="- Live at").exists()
    assert Song.objects.filter(artist_names__regex=r"[À-ž]").exists()
    shared = (
        Song.objects.values("title_norm")
        .annotate(artists=Count("artist_names", distinct=True))
        .filter(artists__gt=1)
    )
    assert shared.exists()


@pytest.mark.django_db
def test_big_batches_fit_the_database_parameter_limits(write_file):
    rows = "".join(f"Song {i},Artist {i},Album {i},1000,,,,\n" for i in range(2500))
    report = song_import(path=write_file("big.csv", HEADER + rows), batch_size=5000)
    assert report.created == 2500 and Song.objects.count() == 2500


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Inf,A,B,inf,,,,", "duration"),
        ("Huge,A,B,,,,,", None),
        ("Sup,A,B,²,,,,", "duration_ms"),
    ],
)
def test_odd_numbers_are_bad_rows_not_a_failed_import(write_file, row, reason):
    text = HEADER + row + "\n" + "Fine,A,B,1000,,,,\n"
    report = song_import(path=write_file("odd.csv", text))
    assert Song.objects.filter(title="Fine").exists()
    if reason:
        assert report.errors[0].reason.startswith(reason)


@pytest.mark.django_db
def test_odd_json_values_are_bad_rows(write_file):
    lines = [
        '{"title": "A", "duration_ms": 1e999}',
        '{"title": "B", "duration_ms": NaN}',
        '{"title": "C", "popularity": "²"}',
        '{"title": "D", "spotify_uri": "spotify:' + "x" * 200 + '"}',
        '{"title": "E", "artists": ' + json.dumps([f"a{i}" for i in range(101)]) + "}",
        '{"title": "Fine"}',
    ]
    report = song_import(path=write_file("odd.jsonl", "\n".join(lines) + "\n"))
    assert report.skipped == 5 and report.created == 1
    assert [e.line for e in report.errors] == [1, 2, 3, 4, 5]


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


def _random_batch(rng: random.Random) -> list[SongRecord]:
    """Records that often share Spotify ids, ISRCs and metadata, in every combination."""
    return [
        SongRecord(
            title=rng.choice(["One", "Two"]),
            artists=[rng.choice(["A", "B"])],
            album=rng.choice([None, "X"]),
            spotify_id=rng.choice([None, None, "0" * 21 + "1", "0" * 21 + "2"]),
            isrc=rng.choice([None, None, "USABC2400001", "USABC2400002"]),
        )
        for _ in range(rng.randint(1, 6))
    ]


@pytest.mark.django_db
def test_the_shortcut_for_unrelated_batches_gives_what_the_walk_gives(monkeypatch):
    """Batches with nothing shared skip the record-by-record walk: same keys either way."""
    rng = random.Random(7)
    shortcut_taken = 0
    for _ in range(400):
        items = [prepare(r, copy_text=False) for r in _random_batch(rng)]
        fast = upsert._resolve_keys(items)
        with monkeypatch.context() as patched:
            patched.setattr(upsert, "_unrelated", lambda *args: False)
            walked = upsert._resolve_keys(items)
        assert fast == walked
        shortcut_taken += upsert._unrelated(
            items,
            {i.record.spotify_id for i in items if i.record.spotify_id},
            {i.record.isrc for i in items if i.record.isrc},
        )
    assert 50 < shortcut_taken < 400  # both ways were exercised


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
def test_of_songs_sharing_an_isrc_the_one_keyed_by_it_then_the_oldest_is_chosen(monkeypatch):
    isrc = "USABC2400001"
    # The look-up answers in no particular order: here the newest first.
    stored = [
        ("sp:0000000000000000000003", "0000000000000000000003", isrc, 30),
        ("sp:0000000000000000000002", "0000000000000000000002", isrc, 20),
        ("sp:0000000000000000000001", "0000000000000000000001", isrc, 10),
    ]
    monkeypatch.setattr(upsert, "_lookup_songs", lambda *args: stored)
    line = [prepare(SongRecord(title="T", artists=["A"], isrc=isrc), copy_text=False)]
    assert upsert._resolve_keys(line) == [("sp:0000000000000000000001", True)]
    keyed = [(f"isrc:{isrc}", None, isrc, 40), *stored]
    monkeypatch.setattr(upsert, "_lookup_songs", lambda *args: keyed)
    assert upsert._resolve_keys(line) == [(f"isrc:{isrc}", True)]


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_line_known_only_by_an_isrc_two_songs_share_joins_the_oldest(write_file, batch_size):
    text = (
        HEADER
        + "First,A,,1000,USABC2400001,,,0000000000000000000001\n"
        + "Second,B,,1000,USABC2400001,,,0000000000000000000002\n"
        + "Renamed,,,1000,USABC2400001,,,\n"
    )
    song_import(path=write_file("a.csv", text), batch_size=batch_size)
    titles = dict(Song.objects.values_list("spotify_id", "title"))
    assert titles == {"0000000000000000000001": "Renamed", "0000000000000000000002": "Second"}
    assert song_import(path=write_file("a.csv", text)).unchanged == 3


@pytest.mark.django_db
def test_the_thread_switch_interval_is_lowered_while_importing_and_restored_after(write_file):
    before = sys.getswitchinterval()
    seen = []
    rows = "".join(f"Song {n},Artist,Album,1000,,,,\n" for n in range(30))
    song_import(
        path=write_file("s.csv", HEADER + rows),
        batch_size=10,
        on_batch=lambda progress: seen.append(sys.getswitchinterval()),
    )
    assert seen and all(value <= 0.0005 for value in seen)
    assert sys.getswitchinterval() == before


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


@pytest.mark.django_db
@pytest.mark.parametrize(
    "artists", [["Earth; Wind", "Fire"], ["[Ingrid]", "Bob"], ["Plain", "Names"]]
)
def test_csv_round_trips_artist_names_holding_the_separator(tmp_path, artists):
    song_records_upsert(records=[SongRecord(title="Tricky", artists=artists)])
    out = io.StringIO()
    song_export(out=out, fmt="csv")
    path = tmp_path / "out.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    Song.objects.all().delete()

    assert song_import(path=path).created == 1
    song = Song.objects.get()
    assert [sa.artist.name for sa in song.song_artists.order_by("position")] == artists


@pytest.mark.django_db
def test_a_csv_artists_cell_that_only_looks_like_json_is_split_as_usual(write_file):
    song_import(path=write_file("a.csv", HEADER + 'Song,"[Ingrid]; Bob",,,,,,\n'))
    song = Song.objects.get()
    assert [sa.artist.name for sa in song.song_artists.order_by("position")] == ["[Ingrid]", "Bob"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ('"[""A\\u0000B""]"', "artists: contains a NUL byte"),
        ('"[""A\\ud800B""]"', "artists: is not valid UTF-8"),
    ],
)
def test_a_json_artists_cell_hiding_bad_characters_is_a_bad_row(write_file, cell, reason):
    text = HEADER + "Good,Artist,,,,,,\n" + f"Bad,{cell},,,,,,\n"
    report = song_import(path=write_file("a.csv", text))
    assert (report.created, report.skipped) == (1, 1)
    assert [(e.line, e.reason) for e in report.errors] == [(3, reason)]


@pytest.mark.django_db
def test_a_json_lines_value_with_a_lone_surrogate_is_a_bad_row(write_file):
    lines = ['{"title": "Good"}', '{"title": "Bad \\ud800"}']
    report = song_import(path=write_file("a.jsonl", "\n".join(lines) + "\n"))
    assert (report.created, report.skipped) == (1, 1)
    assert report.errors[0].reason == "title: is not valid UTF-8"


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
    resolve = upsert._resolve_keys

    waited: set[int] = set()

    def resolve_then_wait(items):
        keys = resolve(items)
        if threading.get_ident() not in waited:  # a batch written again goes straight on
            waited.add(threading.get_ident())
            both_resolved.wait()
        return keys

    monkeypatch.setattr(upsert, "_resolve_keys", resolve_then_wait)

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


@pytest.mark.django_db
@postgres_only
def test_a_batch_that_meets_a_concurrent_import_is_written_again(monkeypatch):
    calls = []
    write = upsert._write_postgres

    def racing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("duplicate key") from psycopg.errors.UniqueViolation()
        return write(*args, **kwargs)

    monkeypatch.setattr(upsert, "_write_postgres", racing_once)
    result = upsert.song_upsert_many(records=_records(3))
    assert len(calls) == 2 and result.created == 3
    assert Song.objects.count() == 3


@pytest.mark.django_db
@postgres_only
def test_a_batch_failing_for_another_reason_is_not_written_again(monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise IntegrityError("null value") from psycopg.errors.NotNullViolation()

    monkeypatch.setattr(upsert, "_write_postgres", failing)
    with pytest.raises(IntegrityError):
        upsert.song_upsert_many(records=_records(3))
    assert len(calls) == 1


def test_a_prepared_row_has_one_field_for_each_staging_column():
    record = SongRecord(title="T", artists=["A", "B"], album="Al", isrc="USABC2400001")
    tail = prepare(record, copy_text=True).copy_tail
    # seq, identity_key, is_line and is_song are written in front of the prepared part
    assert len(tail.split("\t")) == len(upsert._STAGE_COLUMNS) - 4


def test_overlapping_imports_keep_the_switch_interval_low_until_the_last_ends():
    from catalog.services import _prompt_thread_switches

    before = sys.getswitchinterval()
    first, second = _prompt_thread_switches(), _prompt_thread_switches()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() <= 0.0005  # the second import still runs
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
