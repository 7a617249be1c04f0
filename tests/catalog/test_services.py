import io
import json

import pytest

from catalog.models import Album, Artist, SearchWord, Song
from catalog.services import ImportFileError, song_export, song_import
from tests.catalog.samples import GOOD, HEADER


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
def test_strict_writes_nothing_when_a_row_is_bad(write_file):
    path = write_file("strict.csv", GOOD + ",No title,X,1,,,,\n")
    report = song_import(path=path, strict=True)
    assert report.strict_refused and report.skipped == 1 and report.created == 0
    assert not Song.objects.exists()

    good = song_import(path=write_file("ok.csv", GOOD), strict=True)
    assert good.created == 3 and not good.strict_refused


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
