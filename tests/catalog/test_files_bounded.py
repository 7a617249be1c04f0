"""Import files are read with bounds (issue 14): per line, per file (decompressed), and a
damaged or fake gzip is an input error, never a crash."""

from __future__ import annotations

import gzip
import resource
import zlib

import pytest

from catalog.services import ImportFileError, song_import
from tests.catalog.samples import GOOD, HEADER

pytestmark = pytest.mark.django_db


def _gzip_of_one_long_line(path, size: int) -> None:
    """A small gzip holding a header and one ``size``-character line, written in pieces."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(HEADER.encode())
        piece = b"x" * (1 << 20)
        for _ in range(size // len(piece)):
            out.write(piece)
        out.write(b"\n")


def test_a_huge_line_in_a_small_gzip_is_refused_without_reading_it_whole(tmp_path, settings):
    settings.SYNC_IMPORT_MAX_LINE_CHARS = 64 * 1024
    path = tmp_path / "bomb.csv.gz"
    _gzip_of_one_long_line(path, 64 * 1024**2)  # 64 MiB line, ~64 KiB on disk
    assert path.stat().st_size < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImportFileError, match="line 2 is longer than 65,536 characters"):
        song_import(path=path)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 32  # the 64 MiB line was never held


@pytest.mark.parametrize("name", ["long.csv", "long.jsonl"])
def test_a_long_line_is_refused_in_both_formats(write_file, settings, name):
    settings.SYNC_IMPORT_MAX_LINE_CHARS = 100
    content = HEADER + "A" * 200 + ",B,C,1000,,,,\n" if name.endswith("csv") else "{" * 200
    with pytest.raises(ImportFileError, match="longer than 100 characters"):
        song_import(path=write_file(name, content))


def test_a_file_over_the_decompressed_cap_is_refused(write_file, settings):
    settings.SYNC_IMPORT_MAX_BYTES = 1000
    rows = "".join(f"Song {i},Artist,Album,1000,,,,\n" for i in range(200))
    with pytest.raises(ImportFileError, match="more than 1,000 bytes"):
        song_import(path=write_file("many.csv.gz", gzip.compress((HEADER + rows).encode())))


def test_a_file_within_the_bounds_imports(write_file, settings):
    settings.SYNC_IMPORT_MAX_BYTES = len(GOOD.encode())
    assert song_import(path=write_file("songs.csv.gz", gzip.compress(GOOD.encode()))).created == 3


@pytest.mark.parametrize(
    "content",
    [
        b"title,artists\nA,B\n",  # plain text named .gz
        gzip.compress(GOOD.encode(), mtime=0)[:40],  # truncated
        gzip.compress(GOOD.encode(), mtime=0)[:10] + zlib.compress(b"junk") + b"\0" * 8,
    ],
    ids=["plain", "truncated", "damaged"],
)
def test_a_gz_that_is_not_gzip_is_an_input_error(write_file, content):
    with pytest.raises(ImportFileError, match="not a readable gzip file"):
        song_import(path=write_file("songs.csv.gz", content))


def test_deeply_nested_json_lines_are_bad_rows(write_file):
    content = '{"title": "Fine", "artists": ["A"]}\n' + "[" * 100_000 + "\n"
    report = song_import(path=write_file("deep.jsonl", content))
    assert report.created == 1 and "nested too deeply" in report.errors[0].reason
