import json

import pytest

from catalog.models import Song
from catalog.records import RowInvalid, parse_record
from catalog.services import song_import
from tests.catalog.samples import HEADER


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


@pytest.mark.parametrize(
    ("value", "explicit"),
    [
        *[(word, True) for word in ["1", "true", "T", " yes ", "y", "On", True]],
        *[(word, False) for word in ["0", "false", "f", "NO", "n", "off", False]],
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_explicit_accepts_the_yes_and_no_words_and_blank_is_unknown(value, explicit):
    assert parse_record({"title": "T", "explicit": value}).explicit is explicit


@pytest.mark.parametrize("value", ["maybe", "2", 1.5])
def test_explicit_that_is_no_yes_or_no_word_is_a_bad_row(value):
    with pytest.raises(RowInvalid) as error:
        parse_record({"title": "T", "explicit": value})
    assert str(error.value) == f"explicit: {value!r} is not true or false"


def test_isrc_is_stored_upper_case_without_hyphens():
    assert parse_record({"title": "T", "isrc": " us-abc-24-00001 "}).isrc == "USABC2400001"
    with pytest.raises(RowInvalid) as error:
        parse_record({"title": "T", "isrc": "US-ABC-24"})
    assert str(error.value) == "isrc: 'US-ABC-24' is not a valid ISRC"


def test_spotify_id_and_uri_must_be_a_track_id():
    track = "4u7EnebtmKWzUH433cf5Qv"
    record = parse_record(
        {"title": "T", "spotify_id": track, "spotify_uri": f"spotify:track:{track}"}
    )
    assert (record.spotify_id, record.spotify_uri) == (track, f"spotify:track:{track}")
    with pytest.raises(RowInvalid, match=r"^spotify_id: 'x' is not a Spotify id"):
        parse_record({"title": "T", "spotify_id": "x"})
    with pytest.raises(RowInvalid, match=r"^spotify_uri: not a track URI"):
        parse_record({"title": "T", "spotify_uri": f"spotify:album:{track}"})
