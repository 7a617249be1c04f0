"""Batch upsert of song records: the one write path for imports and the demo catalog.

Per batch, a handful of statements whatever its size. Existing songs are found by Spotify id,
ISRC or metadata key in one query and each record's song is decided in Python (a batch with
nothing in common with the catalog or within itself skips the record-by-record walk).

On PostgreSQL the batch then goes in by one COPY into a staging table, as text each record's
row was formatted in ahead (``prepare``, on the import's reader thread), and everything else
is set-based from there: artists and albums ``INSERT .. SELECT .. ON CONFLICT DO NOTHING``,
songs one ``INSERT .. SELECT .. ON CONFLICT (identity_key) DO UPDATE .. WHERE <something
changed>`` joined to their albums, so an unchanged row is not rewritten at all, and the
artist links of the songs written. SQLite takes the same upsert as a VALUES list, with
artists and albums written first and their ids kept in the import's context.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg.errors
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from catalog.models import (
    Album,
    Artist,
    MatchStatus,
    SearchWord,
    Song,
    SongArtist,
    artist_key,
    meta_key,
)
from catalog.normalize import normalize
from catalog.records import SongRecord

logger = logging.getLogger(__name__)

# Errors a batch meets only because another import wrote the same songs at the same moment.
_RACES = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.UniqueViolation,
    psycopg.errors.SerializationFailure,
)
_SQLITE_BATCH = 1000  # rows a SQLite statement takes (21 parameters each)
_BOUNDED = 200_000  # entries an id cache keeps before it starts over (memory stays flat)


@dataclass
class UpsertContext:
    """Caches that live for one import: the vocabulary words already written and, on SQLite,
    the ids of artists and albums (PostgreSQL joins to them in SQL instead)."""

    artist_ids: dict[str, int] = field(default_factory=dict)
    album_ids: dict[str, int] = field(default_factory=dict)
    words_seen: set[str] = field(default_factory=set)
    songs_written: int = 0
    next_analyze: int = 5_000

    def trim(self) -> None:
        for cache in (self.artist_ids, self.album_ids, self.words_seen):
            if len(cache) > _BOUNDED:
                cache.clear()


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _any_of(column: str, values: Sequence[str]) -> tuple[str, list[str]]:
    """SQLite: ``column`` equals one of ``values``, as SQL and parameters."""
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _ensure_rows(model, key_column: str, rows: dict[str, list], columns: list[str]) -> dict:
    """SQLite: insert the rows whose key is new, and return {key: id} for every key in ``rows``.

    ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` hands back the new rows' ids in the same
    statement; only keys that existed already need a second look-up.
    """
    table = model._meta.db_table
    now = timezone.now()
    placeholders = "(" + ", ".join(["%s"] * (len(columns) + 3)) + ")"
    ids: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {', '.join(columns)}, created_at, updated_at) "
            f"VALUES {', '.join([placeholders] * len(rows))} "
            f"ON CONFLICT ({key_column}) DO NOTHING RETURNING {key_column}, id",
            [v for key, values in rows.items() for v in (key, *values, now, now)],
        )
        ids.update(cursor.fetchall())
        missing = [key for key in rows if key not in ids]
        if missing:
            condition, params = _any_of(key_column, missing)
            cursor.execute(f"SELECT {key_column}, id FROM {table} WHERE {condition}", params)
            ids.update(cursor.fetchall())
    return ids


def _ensure_artists(records: Sequence[SongRecord], ctx: UpsertContext) -> None:
    wanted: dict[str, list] = {}
    for record in records:
        for name in record.artists:
            key = artist_key(name)
            if key not in ctx.artist_ids and key not in wanted:
                wanted[key] = [name, None]
    if wanted:
        ctx.artist_ids.update(_ensure_rows(Artist, "name_key", wanted, ["name", "spotify_id"]))


def _album_key(record: SongRecord) -> str:
    return Album.key_for(record.album or "", record.main_artist)


def _ensure_albums(items: Sequence[PreparedRecord], ctx: UpsertContext) -> None:
    wanted: dict[str, list] = {}
    for item in items:
        if item.album:
            key, title, main_artist = item.album
            if key not in ctx.album_ids and key not in wanted:
                wanted[key] = [
                    title,
                    main_artist,
                    None,
                    item.record.album_image_url,
                    item.record.release_year,
                ]
    if wanted:
        columns = ["title", "main_artist_name", "spotify_id", "image_url", "release_year"]
        ctx.album_ids.update(_ensure_rows(Album, "album_key", wanted, columns))


@dataclass(slots=True)
class PreparedRecord:
    """A record with what writing it needs worked out ahead, on the import's reader thread,
    so that the thread that talks to the database spends its time there: the record's own
    identity keys, its search text and, for PostgreSQL, its staging row as COPY text."""

    record: SongRecord
    own_key: str
    fallback_key: str
    artist_names: str  # joined for display
    search_text: tuple[str, str, str]  # title_norm, artists_norm, album_norm
    album: tuple[str, str, str] | None  # the song's album: its key, title and main artist
    copy_tail: str | None  # the _STAGE_COLUMNS after seq .. is_song, in COPY text format


_OWN_ALBUM: Any = object()


def prepare(record: SongRecord, *, copy_text: bool, album: Any = _OWN_ALBUM) -> PreparedRecord:
    """``album``: (key, title, main artist) of the album the song keeps when it is not the
    record's own (``_merge``), or None for none."""
    title_norm, main_artist_norm = normalize(record.title), normalize(record.main_artist)
    album_norm = normalize(record.album)
    artist_names = ", ".join(record.artists)[:2000]
    artists_norm = normalize(artist_names)[:2000]
    fallback = meta_key(title_norm, main_artist_norm, album_norm)
    if album is _OWN_ALBUM:
        album = None
        if record.album:
            album = (_album_key(record), record.album, record.main_artist[:500])
    elif album is not None:
        album_norm = normalize(album[1])
    else:
        album_norm = ""
    search_text = (title_norm[:500], artists_norm, album_norm[:500])
    tail = None
    if copy_text:
        tail = "\t".join(
            [
                *map(_copy_field, [
                    record.title, artist_names, record.duration_ms, record.isrc,
                    record.release_date, record.release_date_precision, record.release_year,
                    record.explicit, record.spotify_id, record.spotify_uri,
                    record.album_image_url, record.popularity, record.preview_url,
                    *search_text, *(album or (None, None, None)),
                ]),
                _copy_array(record.artists),
                _copy_array([artist_key(name) for name in record.artists]),
            ]
        )  # fmt: skip
    return PreparedRecord(
        record=record,
        own_key=record.identity_key() if record.spotify_id or record.isrc else fallback,
        fallback_key=fallback,
        artist_names=artist_names,
        search_text=search_text,
        album=album,
        copy_tail=tail,
    )


def _copy_field(value) -> str:
    """One field in COPY's text format (records hold text, numbers, booleans and dates)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = value.replace("\\", "\\\\").replace("\t", "\\t")
            return value.replace("\n", "\\n").replace("\r", "\\r")
        return value
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def _copy_array(values: list[str]) -> str:
    """A text[] field in COPY's text format: an array literal with every element quoted."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _copy_field("{" + ",".join(quoted) + "}")


def _lookup_songs(keys: set[str], spotify_ids: set[str], isrcs: set[str]) -> list[tuple]:
    """(identity_key, spotify_id, isrc, id) of the songs matching any of the given values."""
    table = Song._meta.db_table
    lookups = [(c, list(v)) for c, v in (("identity_key", keys), ("spotify_id", spotify_ids),
                                         ("isrc", isrcs)) if v]  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A join against the unnested values plans as one index probe per value. Written
            # as "column = ANY(array)" PostgreSQL may choose a sequential scan instead, on a
            # table that an import grows faster than its statistics follow.
            parts = [
                f"SELECT s.identity_key, s.spotify_id, s.isrc, s.id FROM "
                f"unnest(string_to_array(%s, E'\\x1f')) AS v(value) "
                f"JOIN {table} s ON s.{column} = v.value"
                for column, _ in lookups
            ]
            cursor.execute(" UNION ".join(parts), ["\x1f".join(v) for _, v in lookups])
        else:
            clauses, params = [], []
            for column, values in lookups:
                clause, values_params = _any_of(column, values)
                clauses.append(clause)
                params.extend(values_params)
            cursor.execute(
                f"SELECT identity_key, spotify_id, isrc, id FROM {table} "
                f"WHERE {' OR '.join(clauses)}",
                params,
            )
        return cursor.fetchall()


def _unrelated(items: Sequence[PreparedRecord], spotify_ids: set, isrcs: set) -> bool:
    """Whether no two records of a batch can be one song: no Spotify id, ISRC or own key is
    shared, and no record's metadata key is another's own key. With nothing in the catalog
    matching either, every record is then a new song under its own key (the common case of
    a first import, decided without the record-by-record walk below)."""
    own = {item.own_key for item in items}
    return (
        len(own) == len(items)
        and len(spotify_ids) == sum(1 for item in items if item.record.spotify_id)
        and len(isrcs) == sum(1 for item in items if item.record.isrc)
        and own.isdisjoint(i.fallback_key for i in items if i.fallback_key != i.own_key)
    )


def _resolve_keys(items: Sequence[PreparedRecord]) -> list[tuple[str, bool]]:
    """For each record, the identity_key of its song and whether that song exists already.

    Precedence: a song with the same Spotify id, else the same ISRC, else the same metadata key.
    A song that has a *different* Spotify id (or ISRC) is never taken for the record's song:
    one recording released twice shares an ISRC but is two Spotify tracks. Of several songs
    with the record's ISRC, the one keyed by it wins, then the oldest: the answer then does not
    depend on songs that lines further down the file created in an earlier import of it.
    """
    records = [item.record for item in items]
    own_keys = [(item.own_key, item.fallback_key) for item in items]
    spotify_ids = {r.spotify_id for r in records if r.spotify_id}
    isrcs = {r.isrc for r in records if r.isrc}
    keys = {k for pair in own_keys for k in pair}
    rows = _lookup_songs(keys, spotify_ids, isrcs)
    if not rows and _unrelated(items, spotify_ids, isrcs):
        return [(item.own_key, False) for item in items]
    songs: dict[str, tuple[str | None, str | None]] = {}
    age: dict[str, tuple[int, int]] = {}  # stored songs by id, then this batch's in file order
    by_spotify: dict[str, str] = {}
    by_isrc: dict[str, list[str]] = {}
    for identity_key, spotify_id, isrc, song_id in rows:
        songs[identity_key] = (spotify_id, isrc)
        age[identity_key] = (0, song_id)
        if spotify_id:
            by_spotify[spotify_id] = identity_key
        if isrc:
            by_isrc.setdefault(isrc, []).append(identity_key)

    def compatible(record: SongRecord, key: str) -> bool:
        spotify_id, isrc = songs[key]
        if record.spotify_id and spotify_id and spotify_id != record.spotify_id:
            return False
        return not (record.isrc and isrc and isrc != record.isrc)

    found: list[tuple[str, bool]] = []
    existing = set(songs)
    for r, own in zip(records, own_keys, strict=True):
        key = by_spotify.get(r.spotify_id) if r.spotify_id else None
        if key is None and r.isrc:
            options = sorted(by_isrc.get(r.isrc, []), key=lambda k: (k != f"isrc:{r.isrc}", age[k]))
            key = next((k for k in options if compatible(r, k)), None)
        if key is None:
            key = next((k for k in own if k in songs and compatible(r, k)), None)
        if key is None:
            # A new song. Its natural key may be held by a song it is not (one whose ISRC or
            # Spotify id differs): then it takes a key of its own rather than overwrite that.
            key, n = own[0], 1
            while key in songs:
                key, n = f"{own[0]}#{n}", n + 1
        # Later records of the batch see this one, as if it were written already.
        spotify_id, isrc = songs.get(key, (None, None))
        songs[key] = (r.spotify_id or spotify_id, r.isrc or isrc)
        age.setdefault(key, (1, len(age)))
        if r.spotify_id:
            by_spotify[r.spotify_id] = key
        if r.isrc and key not in by_isrc.setdefault(r.isrc, []):
            by_isrc[r.isrc].append(key)
        found.append((key, key in existing))
    return found


def _merge(earlier: PreparedRecord, later: PreparedRecord, *, copy_text: bool) -> PreparedRecord:
    """One record from two lines for the same song, written as if the lines went in one after
    the other: the later line's values win, the earlier one's fill what the later leaves
    empty, and without an album of its own the song keeps the earlier line's album (keyed by
    that line's main artist, as the stored album would be), whatever the batch size."""
    merged = copy.copy(later.record)
    for name in SongRecord.__slots__:
        value = getattr(earlier.record, name)
        if getattr(merged, name) in (None, [], "") and value not in (None, []):
            setattr(merged, name, value)
    album = later.album if later.record.album else earlier.album
    return prepare(merged, copy_text=copy_text, album=album)


# (column, PostgreSQL type, what an update writes): "new" the record's value; "coalesce" the
# record's value unless it has none; "album" and "artists" follow whether the record names an
# album, or any artists: a record that does not keeps the stored ones.
_SONG_COLUMNS: list[tuple[str, str, str]] = [
    ("title", "text", "new"),
    ("artist_names", "text", "artists"),
    ("album_id", "bigint", "coalesce"),
    ("duration_ms", "integer", "coalesce"),
    ("isrc", "text", "coalesce"),
    ("release_date", "date", "coalesce"),
    ("release_date_precision", "text", "coalesce"),
    ("release_year", "integer", "coalesce"),
    ("explicit", "boolean", "coalesce"),
    ("spotify_id", "text", "coalesce"),
    ("spotify_uri", "text", "coalesce"),
    ("album_image_url", "text", "coalesce"),
    ("popularity", "integer", "coalesce"),
    ("preview_url", "text", "coalesce"),
    ("title_norm", "text", "new"),
    ("artists_norm", "text", "artists"),
    ("album_norm", "text", "album"),
]
_INSERT_ONLY = [
    ("identity_key", "text"),
    ("match_status", "text"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
]


def _conflict_sql() -> str:
    """``ON CONFLICT (identity_key) DO UPDATE .. WHERE <something changed>`` for catalog_song.

    A value the new row leaves empty keeps the stored one (an import does not undo
    enrichment); an unchanged row is not rewritten at all.
    """
    table = Song._meta.db_table
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    new_values = {}
    for column, _, update in _SONG_COLUMNS:
        if update == "album":
            new_values[column] = (
                f"CASE WHEN excluded.album_id IS NULL THEN {table}.{column} "
                f"ELSE excluded.{column} END"
            )
        elif update == "artists":
            new_values[column] = (
                f"CASE WHEN excluded.artist_names = '' THEN {table}.{column} "
                f"ELSE excluded.{column} END"
            )
        elif update == "coalesce":
            new_values[column] = f"COALESCE(excluded.{column}, {table}.{column})"
        else:
            new_values[column] = f"excluded.{column}"
    sets = ", ".join(f"{c} = {v}" for c, v in new_values.items())
    changed = " OR ".join(f"{table}.{c} {distinct} {v}" for c, v in new_values.items())
    return (
        f" ON CONFLICT (identity_key) DO UPDATE SET {sets}, updated_at = excluded.updated_at"
        f" WHERE {changed}"
    )


def _sqlite_upsert_sql(rows: int) -> str:
    columns = [c for c, _, _ in _SONG_COLUMNS] + [c for c, _ in _INSERT_ONLY]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {Song._meta.db_table} ({', '.join(columns)}) "
        f"VALUES {', '.join([placeholders] * rows)}{_conflict_sql()} RETURNING id, identity_key"
    )


def _insert_songs_sqlite(rows: list[list]) -> list[tuple[int, str]]:
    """Upsert song rows (in _SONG_COLUMNS + _INSERT_ONLY order); (id, key) of rows written."""
    with connection.cursor() as cursor:
        cursor.execute(_sqlite_upsert_sql(len(rows)), [v for row in rows for v in row])
        return cursor.fetchall()


def _song_values(item: PreparedRecord, key: str, ctx: UpsertContext, now) -> list:
    """A song row for SQLite, in _SONG_COLUMNS + _INSERT_ONLY order."""
    record = item.record
    return [
        record.title,
        item.artist_names,
        ctx.album_ids[item.album[0]] if item.album else None,
        record.duration_ms,
        record.isrc,
        record.release_date,
        record.release_date_precision,
        record.release_year,
        record.explicit,
        record.spotify_id,
        record.spotify_uri,
        record.album_image_url,
        record.popularity,
        record.preview_url,
        *item.search_text,
        key,
        MatchStatus.UNMATCHED,
        now,
        now,
    ]


# --- PostgreSQL: one COPY into a staging table, then set-based statements -------------------

_STAGE = "encore_song_stage"
_WRITTEN = "encore_song_written"
# A song row without its album id, plus what its album and artists are known by. A batch
# stages each song's row (is_song) and, for a song given by several lines, each of those lines
# as read (is_line; a song given once is one row, both): artists and albums are made from the
# lines in file order, so the first line that names one decides how it is written, as when
# the lines go in one batch each.
_STAGE_COLUMNS: list[tuple[str, str]] = [
    ("seq", "integer"),
    ("identity_key", "text"),
    ("is_line", "boolean"),
    ("is_song", "boolean"),
    *[(c, t) for c, t, _ in _SONG_COLUMNS if c != "album_id"],
    ("album_key", "text"),
    ("album_title", "text"),
    ("main_artist", "text"),
    ("artist_list", "text[]"),
    ("artist_keys", "text[]"),
]


def _write_postgres(
    songs: dict[str, PreparedRecord], lines: list[tuple[str, PreparedRecord]], now
) -> tuple[int, int]:
    """Write songs by key with their artists and albums; (created, updated) songs.

    Python sends each row once, by COPY. Artists and albums are inserted from the stage's
    lines with ``ON CONFLICT DO NOTHING`` (the first line naming a new one wins), songs
    with one upsert joined to their albums, and artist lists replaced only for songs that
    existed (a song this statement created has none yet) and whose record lists artists.
    """
    song, artist, album = Song._meta.db_table, Artist._meta.db_table, Album._meta.db_table
    song_artist = SongArtist._meta.db_table
    song_columns = [c for c, _, _ in _SONG_COLUMNS] + [c for c, _ in _INSERT_ONLY]
    select = ["al.id" if c == "album_id" else f"st.{c}" for c, _, _ in _SONG_COLUMNS]
    select += ["st.identity_key", "%(status)s", "%(now)s", "%(now)s"]
    params = {"now": now, "status": MatchStatus.UNMATCHED.value}
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ("
            + ", ".join(f"{c} {t}" for c, t in _STAGE_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_WRITTEN} "
            "(id bigint, identity_key text, created boolean) ON COMMIT DELETE ROWS"
        )
        # Inside an outer transaction (a test, a caller's atomic block) rows would remain.
        cursor.execute(f"TRUNCATE {_STAGE}, {_WRITTEN}")
        with cursor.cursor.copy(
            f"COPY {_STAGE} ({', '.join(c for c, _ in _STAGE_COLUMNS)}) FROM STDIN"
        ) as stage_copy:
            rows = _stage_rows(songs, lines)
            for start in range(0, len(rows), 1000):
                stage_copy.write("".join(rows[start : start + 1000]))
        cursor.execute(
            f"INSERT INTO {artist} (name, name_key, created_at, updated_at) "
            f"SELECT DISTINCT ON (u.key) u.name, u.key, %(now)s, %(now)s FROM {_STAGE} st "
            f"CROSS JOIN LATERAL unnest(st.artist_list, st.artist_keys) WITH ORDINALITY "
            f"AS u(name, key, n) WHERE st.is_line ORDER BY u.key, st.seq, u.n "
            f"ON CONFLICT (name_key) DO NOTHING",
            params,
        )
        cursor.execute(
            f"INSERT INTO {album} (album_key, title, main_artist_name, image_url, release_year,"
            f" created_at, updated_at) "
            f"SELECT DISTINCT ON (album_key) album_key, album_title, main_artist,"
            f" album_image_url, release_year, %(now)s, %(now)s FROM {_STAGE} "
            f"WHERE album_key IS NOT NULL AND is_line ORDER BY album_key, seq "
            f"ON CONFLICT (album_key) DO NOTHING",
            params,
        )
        cursor.execute(
            f"WITH written AS (INSERT INTO {song} ({', '.join(song_columns)}) "
            f"SELECT {', '.join(select)} FROM {_STAGE} st "
            f"LEFT JOIN {album} al ON al.album_key = st.album_key "
            # In file order, so that ids follow the file (the oldest-song rule relies on it).
            f"WHERE st.is_song ORDER BY st.seq"
            f"{_conflict_sql()} RETURNING id, identity_key, xmax = 0) "
            f"INSERT INTO {_WRITTEN} SELECT * FROM written",
            params,
        )
        cursor.execute(
            f"DELETE FROM {song_artist} sa USING {_WRITTEN} w "
            f"JOIN {_STAGE} st ON st.identity_key = w.identity_key AND st.is_song "
            f"WHERE sa.song_id = w.id AND NOT w.created AND cardinality(st.artist_keys) > 0"
        )
        cursor.execute(
            f"INSERT INTO {song_artist} (song_id, artist_id, position) "
            f"SELECT w.id, a.id, u.n - 1 FROM {_WRITTEN} w "
            f"JOIN {_STAGE} st ON st.identity_key = w.identity_key AND st.is_song "
            f"CROSS JOIN LATERAL unnest(st.artist_keys) WITH ORDINALITY AS u(key, n) "
            f"JOIN {artist} a ON a.name_key = u.key"
        )
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
            f"FROM {_WRITTEN}"
        )
        created, updated = cursor.fetchone()
    return created, updated


def _stage_rows(songs: dict[str, PreparedRecord], lines: list[tuple[str, PreparedRecord]]):
    """The batch's staging rows as COPY text: see _STAGE_COLUMNS."""
    first_seq: dict[str, int] = {}
    repeated: set[str] = set()
    for n, (key, _) in enumerate(lines):
        if key in first_seq:
            repeated.add(key)
        first_seq.setdefault(key, n)
    rows = [
        f"{n}\t{_copy_field(key)}\tt\tf\t{item.copy_tail}\n"
        for n, (key, item) in enumerate(lines)
        if key in repeated
    ]
    rows += [
        f"{first_seq[key]}\t{_copy_field(key)}\t{'f' if key in repeated else 't'}\tt\t"
        f"{item.copy_tail}\n"
        for key, item in songs.items()
    ]
    return rows


def _write_sqlite(
    by_key: dict[str, tuple[PreparedRecord, bool]],
    lines: list[tuple[str, PreparedRecord]],
    ctx: UpsertContext,
    result: UpsertResult,
) -> None:
    # Artists and albums from the lines in file order: the first that names one decides.
    _ensure_artists([item.record for _, item in lines], ctx)
    _ensure_albums([item for _, item in lines], ctx)
    now = timezone.now()
    values = [_song_values(item, key, ctx, now) for key, (item, _) in by_key.items()]
    written = {key: song_id for song_id, key in _insert_songs_sqlite(values)}
    for key, (_, existed) in by_key.items():
        if key in written:
            if existed:
                result.updated += 1
            else:
                result.created += 1
    # A written song gets the record's artist list anew; a record without artists keeps the
    # stored list (an import does not blank what it does not say).
    written = {k: song_id for k, song_id in written.items() if by_key[k][0].record.artists}
    if written:
        _write_song_artists(
            list(written.values()),
            [
                [song_id, ctx.artist_ids[artist_key(name)], position]
                for key, song_id in written.items()
                for position, name in enumerate(by_key[key][0].record.artists)
            ],
        )


def _write_song_artists(song_ids: list[int], rows: list[list[int]]) -> None:
    """SQLite: replace the artist lists of these songs with ``rows`` (song, artist, position)."""
    table = SongArtist._meta.db_table
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(song_ids))
        cursor.execute(f"DELETE FROM {table} WHERE song_id IN ({placeholders})", song_ids)
        if rows:
            values = ", ".join(["(%s, %s, %s)"] * len(rows))
            cursor.execute(
                f"INSERT INTO {table} (song_id, artist_id, position) VALUES {values}",
                [v for row in rows for v in row],
            )


def _new_words(search_texts, ctx: UpsertContext) -> set[str]:
    """Words of the songs' search columns that this import has not written yet."""
    words: set[str] = set()
    for texts in search_texts:
        for text in texts:
            words.update(text.split())
    return {w for w in words - ctx.words_seen if len(w) <= 100}


def _analyze() -> None:
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


def _prepared(record: SongRecord | PreparedRecord, *, copy_text: bool) -> PreparedRecord:
    if isinstance(record, PreparedRecord):
        if record.copy_tail is not None or not copy_text:
            return record
        record = record.record
    return prepare(record, copy_text=copy_text)


def _upsert_batch(
    items: list[PreparedRecord], ctx: UpsertContext, postgres: bool
) -> tuple[UpsertResult, set[str]]:
    """One batch in one transaction; the result and the vocabulary words it wrote."""
    result = UpsertResult()
    with transaction.atomic():
        if postgres:
            # Don't wait for the WAL flush at each batch's commit. A crash may lose the last
            # few batches, never corrupt anything, and re-running the import (idempotent)
            # writes them again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        by_key: dict[str, tuple[PreparedRecord, bool]] = {}
        lines: list[tuple[str, PreparedRecord]] = []
        for item, (key, existed) in zip(items, _resolve_keys(items), strict=True):
            lines.append((key, item))
            if key in by_key:
                result.unchanged += 1  # the line repeats a song of this batch: merged into it
                item = _merge(by_key[key][0], item, copy_text=postgres)
            by_key[key] = (item, existed)
        words = _new_words((item.search_text for item, _ in by_key.values()), ctx)
        if postgres:
            result.created, result.updated = _write_postgres(
                {key: item for key, (item, _) in by_key.items()}, lines, timezone.now()
            )
        else:
            _write_sqlite(by_key, lines, ctx, result)
        result.unchanged += len(by_key) - result.created - result.updated
        if words:
            SearchWord.objects.bulk_create(
                [SearchWord(word=w) for w in words], ignore_conflicts=True
            )
    return result, words


def song_upsert_many(
    *, records: Sequence[SongRecord | PreparedRecord], ctx: UpsertContext | None = None
) -> UpsertResult:
    """Create or update the songs ``records`` describe, in one transaction.

    Idempotent: writing the same records again changes nothing and reports them unchanged.
    Values a record leaves empty never erase stored ones (an import does not undo enrichment).
    Within one batch a song given twice is written once, the later record winning.
    """
    ctx = ctx or UpsertContext()
    if not records:
        return UpsertResult()
    postgres = connection.vendor == "postgresql"
    if not postgres and len(records) > _SQLITE_BATCH:
        # SQLite binds at most 32,766 parameters a statement: write big batches in parts.
        result = UpsertResult()
        for start in range(0, len(records), _SQLITE_BATCH):
            part = song_upsert_many(records=records[start : start + _SQLITE_BATCH], ctx=ctx)
            result.created += part.created
            result.updated += part.updated
            result.unchanged += part.unchanged
        return result
    items = [_prepared(r, copy_text=postgres) for r in records]
    for attempt in (1, 2):
        try:
            result, words = _upsert_batch(items, ctx, postgres)
            break
        except (IntegrityError, OperationalError) as exc:
            # Two imports writing the same new songs at once can deadlock (songs go in in file
            # order, so that ids follow the file), or both find a Spotify id free and one
            # then trips on the other's row. The batch rolled back; written again it finds
            # the other import's songs and updates them.
            if attempt == 2 or not isinstance(exc.__cause__, _RACES):
                raise
            logger.info("import batch hit a concurrent import (%s); writing it again", exc)
    ctx.words_seen |= words
    ctx.songs_written += result.created
    if ctx.songs_written >= ctx.next_analyze:
        _analyze()
        ctx.next_analyze *= 2
    ctx.trim()
    # Under DEBUG, Django keeps every statement; a long import must not grow memory with it.
    connection.queries_log.clear()
    return result
