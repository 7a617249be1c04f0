import gzip
import io

import pytest

from catalog.models import Song
from catalog.records import SongRecord
from catalog.services import ImportFileError, song_export, song_import, song_records_upsert
from tests.catalog.samples import GOOD, HEADER


@pytest.mark.django_db
def test_invalid_utf8_is_a_bad_row_not_a_failed_import(write_file):
    content = (HEADER + "Good,A,B,1000,,,,\n").encode() + b"Bad \xff\xfe,A,B,1000,,,,\n"
    report = song_import(path=write_file("latin1.csv", content))
    assert report.created == 1
    assert report.errors[0].line == 3 and "UTF-8" in report.errors[0].reason


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
