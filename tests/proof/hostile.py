"""Hostile import files, generated in the test: streamed, never a GB on disk or in memory."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

HEADER = b"title,artists,album,duration_ms,isrc,release_date,explicit,spotify_id\n"
CHUNK = 1 << 20


def gzip_of(path: Path, chunk: bytes, total: int, head: bytes = b"") -> Path:
    """``head`` then ``chunk`` repeated to ``total`` bytes, as a gzip file of many members
    (gzip readers read them as one stream): ``chunk`` is compressed once and its member
    written again and again, so a 1 GiB payload takes milliseconds and about 1 MiB of disk."""
    member = gzip.compress(chunk, compresslevel=9, mtime=0)
    with path.open("wb") as out:
        out.write(gzip.compress(head, mtime=0))
        for _ in range(max(1, (total - len(head)) // len(chunk))):
            out.write(member)
    return path


def decompression_bomb(folder: Path, size: int = 1 << 30) -> Path:
    """A .csv.gz of about 1 MiB holding ``size`` bytes of valid-looking rows."""
    row = b"Bomb,Someone,Somewhere,180000,,2001-02-03,false,\n"
    return gzip_of(folder / "bomb.csv.gz", row * (CHUNK // len(row)), size, head=HEADER)


def one_long_line(folder: Path, size: int = 1 << 30) -> Path:
    """A .jsonl.gz whose first line is ``size`` bytes with no newline."""
    return gzip_of(folder / "long-line.jsonl.gz", b'{"title": "' + b"a" * (CHUNK - 11), size)


def many_columns(folder: Path, columns: int = 100_000) -> Path:
    path = folder / "columns.csv"
    header = b"title," + b",".join(b"c%d" % i for i in range(columns)) + b"\n"
    path.write_bytes(header + b"x," * columns + b"x\n")
    return path


def binary(folder: Path, size: int = 4 << 20) -> Path:
    path = folder / "binary.csv"
    path.write_bytes(random.Random(14).randbytes(size))  # the same bytes every run
    return path


def utf16(folder: Path) -> Path:
    path = folder / "utf16.csv"
    text = HEADER.decode() + "Café,Beyoncé,Dangerously,180000,,2003-06-23,false,\n"
    path.write_bytes(text.encode("utf-16"))
    return path


def not_gzip(folder: Path) -> Path:
    path = folder / "fake.csv.gz"
    path.write_bytes(HEADER + b"Song,Artist,,,,,false,\n")
    return path
