"""The PostgreSQL writer: one COPY into a staging table, then set-based statements.

Each record's staging row was formatted as COPY text ahead (catalog.upsert.rows, on the
import's reader thread). From the stage, artists and albums go in by ``INSERT .. SELECT .. ON
CONFLICT DO NOTHING``, songs by one ``INSERT .. SELECT .. ON CONFLICT (identity_key) DO UPDATE
.. WHERE <something changed>`` joined to their albums, so an unchanged row is not rewritten at
all, and then the artist links of the songs written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from catalog.models import Album, Artist, MatchStatus, Song, SongArtist
from catalog.upsert.rows import PreparedRecord, copy_field
from catalog.upsert.sql import INSERT_ONLY, SONG_COLUMNS, conflict_sql

STAGE = "encore_song_stage"
WRITTEN = "encore_song_written"
# A song row without its album id, plus what its album and artists are known by. A batch
# stages each song's row (is_song) and, for a song given by several lines, each of those lines
# as read (is_line; a song given once is one row, both): artists and albums are made from the
# lines in file order, so the first line that names one decides how it is written, as when
# the lines go in one batch each.
STAGE_COLUMNS: list[tuple[str, str]] = [
    ("seq", "integer"),
    ("identity_key", "text"),
    ("is_line", "boolean"),
    ("is_song", "boolean"),
    *[(c, t) for c, t, _ in SONG_COLUMNS if c != "album_id"],
    ("album_key", "text"),
    ("album_title", "text"),
    ("main_artist", "text"),
    ("artist_list", "text[]"),
    ("artist_keys", "text[]"),
]


def write_postgres(
    songs: dict[str, PreparedRecord], lines: list[tuple[str, PreparedRecord]], now: datetime
) -> tuple[int, int]:
    """Write songs by key with their artists and albums; (created, updated) songs.

    Python sends each row once, by COPY. Artists and albums are inserted from the stage's
    lines with ``ON CONFLICT DO NOTHING`` (the first line naming a new one wins), songs
    with one upsert joined to their albums, and artist lists replaced only for songs that
    existed (a song this statement created has none yet) and whose record lists artists.
    """
    song, artist, album = Song._meta.db_table, Artist._meta.db_table, Album._meta.db_table
    song_artist = SongArtist._meta.db_table
    song_columns = [c for c, _, _ in SONG_COLUMNS] + [c for c, _ in INSERT_ONLY]
    select = ["al.id" if c == "album_id" else f"st.{c}" for c, _, _ in SONG_COLUMNS]
    select += ["st.identity_key", "%(status)s", "%(now)s", "%(now)s"]
    params: dict[str, datetime | str] = {"now": now, "status": MatchStatus.UNMATCHED.value}
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
            + ", ".join(f"{c} {t}" for c, t in STAGE_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {WRITTEN} "
            "(id bigint, identity_key text, created boolean) ON COMMIT DELETE ROWS"
        )
        # Inside an outer transaction (a test, a caller's atomic block) rows would remain.
        cursor.execute(f"TRUNCATE {STAGE}, {WRITTEN}")
        with cursor.cursor.copy(
            f"COPY {STAGE} ({', '.join(c for c, _ in STAGE_COLUMNS)}) FROM STDIN"
        ) as stage_copy:
            rows = stage_rows(songs, lines)
            for start in range(0, len(rows), 1000):
                stage_copy.write("".join(rows[start : start + 1000]))
        cursor.execute(
            f"INSERT INTO {artist} (name, name_key, created_at, updated_at) "
            f"SELECT DISTINCT ON (u.key) u.name, u.key, %(now)s, %(now)s FROM {STAGE} st "
            f"CROSS JOIN LATERAL unnest(st.artist_list, st.artist_keys) WITH ORDINALITY "
            f"AS u(name, key, n) WHERE st.is_line ORDER BY u.key, st.seq, u.n "
            f"ON CONFLICT (name_key) DO NOTHING",
            params,
        )
        cursor.execute(
            f"INSERT INTO {album} (album_key, title, main_artist_name, image_url, release_year,"
            f" created_at, updated_at) "
            f"SELECT DISTINCT ON (album_key) album_key, album_title, main_artist,"
            f" album_image_url, release_year, %(now)s, %(now)s FROM {STAGE} "
            f"WHERE album_key IS NOT NULL AND is_line ORDER BY album_key, seq "
            f"ON CONFLICT (album_key) DO NOTHING",
            params,
        )
        cursor.execute(
            f"WITH written AS (INSERT INTO {song} ({', '.join(song_columns)}) "
            f"SELECT {', '.join(select)} FROM {STAGE} st "
            f"LEFT JOIN {album} al ON al.album_key = st.album_key "
            # In file order, so that ids follow the file (the oldest-song rule relies on it).
            f"WHERE st.is_song ORDER BY st.seq"
            f"{conflict_sql()} RETURNING id, identity_key, xmax = 0) "
            f"INSERT INTO {WRITTEN} SELECT * FROM written",
            params,
        )
        cursor.execute(
            f"DELETE FROM {song_artist} sa USING {WRITTEN} w "
            f"JOIN {STAGE} st ON st.identity_key = w.identity_key AND st.is_song "
            f"WHERE sa.song_id = w.id AND NOT w.created AND cardinality(st.artist_keys) > 0"
        )
        cursor.execute(
            f"INSERT INTO {song_artist} (song_id, artist_id, position) "
            f"SELECT w.id, a.id, u.n - 1 FROM {WRITTEN} w "
            f"JOIN {STAGE} st ON st.identity_key = w.identity_key AND st.is_song "
            f"CROSS JOIN LATERAL unnest(st.artist_keys) WITH ORDINALITY AS u(key, n) "
            f"JOIN {artist} a ON a.name_key = u.key"
        )
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
            f"FROM {WRITTEN}"
        )
        created, updated = cursor.fetchone()
    return created, updated


def stage_rows(
    songs: dict[str, PreparedRecord], lines: list[tuple[str, PreparedRecord]]
) -> list[str]:
    """The batch's staging rows as COPY text: see STAGE_COLUMNS."""
    first_seq: dict[str, int] = {}
    repeated: set[str] = set()
    for n, (key, _) in enumerate(lines):
        if key in first_seq:
            repeated.add(key)
        first_seq.setdefault(key, n)
    rows = [
        f"{n}\t{copy_field(key)}\tt\tf\t{item.copy_tail}\n"
        for n, (key, item) in enumerate(lines)
        if key in repeated
    ]
    rows += [
        f"{first_seq[key]}\t{copy_field(key)}\t{'f' if key in repeated else 't'}\tt\t"
        f"{item.copy_tail}\n"
        for key, item in songs.items()
    ]
    return rows


def analyze() -> None:
    """Refresh PostgreSQL's statistics while an import grows the tables.

    A table created empty is planned as tiny until it is analysed, and the key look-up then
    becomes a sequential scan that costs more with every batch. Analysing at doubling sizes
    (5k, 10k, 20k, ... new songs) keeps plans right for a handful of cheap ANALYZE runs.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Only the look-up columns: statistics of the full-text expression are costly.
        cursor.execute(f"ANALYZE {Song._meta.db_table} (identity_key, spotify_id, isrc)")
        for model in (SongArtist, Artist, Album):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
