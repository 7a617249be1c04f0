"""Batch upsert of song records: the one write path for imports and the demo catalog.

Per batch, a handful of statements whatever its size: artists and albums are inserted with
``ON CONFLICT DO NOTHING`` and read back by key, existing songs are found by Spotify id, ISRC or
metadata key in one query, and songs go in with one ``INSERT .. ON CONFLICT (identity_key) DO
UPDATE .. WHERE <something changed> RETURNING``, so an unchanged row is not rewritten at all.
The same SQL runs on PostgreSQL and SQLite (3.35+), only the "is distinct from" spelling differs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import (
    Album,
    Artist,
    MatchStatus,
    SearchWord,
    Song,
    SongArtist,
    artist_key,
)
from catalog.normalize import normalize
from catalog.records import SongRecord

_SQLITE_BATCH = 1000  # rows a SQLite statement takes (21 parameters each)
_BOUNDED = 200_000  # entries an id cache keeps before it starts over (memory stays flat)


@dataclass
class UpsertContext:
    """Caches that live for one import: ids of artists/albums and words already written."""

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
    song_ids: list[int] = field(default_factory=list)


def _any_of(column: str, values: Sequence[str]) -> tuple[str, list[str]]:
    """``column`` equals one of ``values``, as SQL and parameters, for either database.

    On PostgreSQL one text parameter is split on the server: no per-value placeholder or array
    quoting. The values are normalised keys or validated ids, so they never hold the separator.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(string_to_array(%s, E'\\x1f'))", ["\x1f".join(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _ensure_rows(model, key_column: str, rows: dict[str, list], columns: list[str]) -> dict:
    """Insert the rows whose key is new, and return {key: id} for every key in ``rows``.

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


def _ensure_albums(records: Sequence[SongRecord], ctx: UpsertContext) -> None:
    wanted: dict[str, list] = {}
    for record in records:
        if record.album:
            key = _album_key(record)
            if key not in ctx.album_ids and key not in wanted:
                wanted[key] = [
                    record.album,
                    record.main_artist[:500],
                    None,
                    record.album_image_url,
                    record.release_year,
                ]
    if wanted:
        columns = ["title", "main_artist_name", "spotify_id", "image_url", "release_year"]
        ctx.album_ids.update(_ensure_rows(Album, "album_key", wanted, columns))


def _lookup_songs(keys: set[str], spotify_ids: set[str], isrcs: set[str]) -> list[tuple]:
    """(identity_key, spotify_id, isrc) of the songs matching any of the given values."""
    table = Song._meta.db_table
    lookups = [(c, list(v)) for c, v in (("identity_key", keys), ("spotify_id", spotify_ids),
                                         ("isrc", isrcs)) if v]  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A join against the unnested values plans as one index probe per value. Written
            # as "column = ANY(array)" PostgreSQL may choose a sequential scan instead, on a
            # table that an import grows faster than its statistics follow.
            parts = [
                f"SELECT s.identity_key, s.spotify_id, s.isrc FROM "
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
                f"SELECT identity_key, spotify_id, isrc FROM {table} WHERE {' OR '.join(clauses)}",
                params,
            )
        return cursor.fetchall()


def _resolve_keys(records: Sequence[SongRecord]) -> list[tuple[str, bool]]:
    """For each record, the identity_key of its song and whether that song exists already.

    Precedence: a song with the same Spotify id, else the same ISRC, else the same metadata key.
    A song that has a *different* Spotify id (or ISRC) is never taken for the record's song:
    one recording released twice shares an ISRC but is two Spotify tracks.
    """
    own_keys = [(r.identity_key(), r.fallback_key()) for r in records]
    spotify_ids = {r.spotify_id for r in records if r.spotify_id}
    isrcs = {r.isrc for r in records if r.isrc}
    keys = {k for pair in own_keys for k in pair}
    rows = _lookup_songs(keys, spotify_ids, isrcs)
    songs: dict[str, tuple[str | None, str | None]] = {}
    by_spotify: dict[str, str] = {}
    by_isrc: dict[str, list[str]] = {}
    for identity_key, spotify_id, isrc in rows:
        songs[identity_key] = (spotify_id, isrc)
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
            # Prefer the song whose key *is* this ISRC, then any compatible one.
            options = sorted(by_isrc.get(r.isrc, []), key=lambda k: k != f"isrc:{r.isrc}")
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
        if r.spotify_id:
            by_spotify[r.spotify_id] = key
        if r.isrc and key not in by_isrc.setdefault(r.isrc, []):
            by_isrc[r.isrc].append(key)
        found.append((key, key in existing))
    return found


def _merge(earlier: SongRecord, later: SongRecord) -> SongRecord:
    """One record from two lines for the same song: the later line's values win, the
    earlier one's fill what the later leaves empty (as an import does with stored values)."""
    merged = copy.copy(later)
    for name in SongRecord.__slots__:
        if getattr(merged, name) in (None, [], "") and getattr(earlier, name) not in (None, []):
            setattr(merged, name, getattr(earlier, name))
    return merged


# (column, PostgreSQL type, keep the stored value when the record has none)
_SONG_COLUMNS: list[tuple[str, str, bool | None]] = [
    ("title", "text", False),
    ("artist_names", "text", False),
    ("album_id", "bigint", True),
    ("duration_ms", "integer", True),
    ("isrc", "text", True),
    ("release_date", "date", True),
    ("release_date_precision", "text", True),
    ("release_year", "integer", True),
    ("explicit", "boolean", True),
    ("spotify_id", "text", True),
    ("spotify_uri", "text", True),
    ("album_image_url", "text", True),
    ("popularity", "integer", True),
    ("preview_url", "text", True),
    ("title_norm", "text", False),
    ("artists_norm", "text", False),
    ("album_norm", "text", None),  # follows album_id
]
_INSERT_ONLY = [
    ("identity_key", "text"),
    ("match_status", "text"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
]


def _upsert_sql(rows: int) -> str:
    """INSERT .. ON CONFLICT DO UPDATE .. WHERE changed RETURNING, for ``rows`` rows.

    PostgreSQL reads the rows from a temporary table filled by COPY (the fastest way in, and
    the statement is the same for any batch size); SQLite takes a VALUES list.
    """
    table = Song._meta.db_table
    columns = [(c, t) for c, t, _ in _SONG_COLUMNS] + _INSERT_ONLY
    postgres = connection.vendor == "postgresql"
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    new_values = {}
    for column, _, keep in _SONG_COLUMNS:
        if keep is None:
            new_values[column] = (
                f"CASE WHEN excluded.album_id IS NULL THEN {table}.{column} "
                f"ELSE excluded.{column} END"
            )
        elif keep:
            new_values[column] = f"COALESCE(excluded.{column}, {table}.{column})"
        else:
            new_values[column] = f"excluded.{column}"
    sets = ", ".join(f"{c} = {v}" for c, v in new_values.items())
    changed = " OR ".join(f"{table}.{c} {distinct} {v}" for c, v in new_values.items())
    if postgres:
        source = f"SELECT * FROM {_STAGE}"
    else:
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        source = "VALUES " + ", ".join([placeholders] * rows)
    return (
        f"INSERT INTO {table} ({', '.join(c for c, _ in columns)}) {source}"
        f" ON CONFLICT (identity_key) DO UPDATE SET {sets}, updated_at = excluded.updated_at"
        f" WHERE {changed} RETURNING id, identity_key"
    )


_STAGE = "encore_song_stage"


def _copy(cursor, table: str, columns: list[str], rows: list[list]) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert_songs(rows: list[list]) -> list[tuple[int, str]]:
    """Upsert song rows (in _SONG_COLUMNS + _INSERT_ONLY order); (id, key) of rows written."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [(c, t) for c, t, _ in _SONG_COLUMNS] + _INSERT_ONLY
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ("
                + ", ".join(f"{c} {t}" for c, t in columns)
                + ") ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"TRUNCATE {_STAGE}")  # inside an outer transaction, rows remain
            _copy(cursor, _STAGE, [c for c, _ in columns], rows)
            cursor.execute(_upsert_sql(len(rows)))
        else:
            cursor.execute(_upsert_sql(len(rows)), [v for row in rows for v in row])
        return cursor.fetchall()


def _song_values(record: SongRecord, key: str, ctx: UpsertContext, now) -> list:
    album_id = ctx.album_ids.get(_album_key(record)) if record.album else None
    artist_names = ", ".join(record.artists)[:2000]
    return [
        record.title,
        artist_names,
        album_id,
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
        normalize(record.title)[:500],
        normalize(artist_names)[:2000],
        normalize(record.album)[:500] if record.album else "",
        key,
        MatchStatus.UNMATCHED,
        now,
        now,
    ]


def _write_song_artists(song_ids: list[int], rows: list[list[int]]) -> None:
    """Replace the artist lists of these songs with ``rows`` (song, artist, position)."""
    table = SongArtist._meta.db_table
    columns = ["song_id", "artist_id", "position"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Joined to the unnested ids: one index probe per song, whatever the statistics.
            cursor.execute(
                f"DELETE FROM {table} t USING unnest(string_to_array(%s, ',')::bigint[]) "
                f"AS v(id) WHERE t.song_id = v.id",
                [",".join(map(str, song_ids))],
            )
            if rows:
                _copy(cursor, table, columns, rows)
        else:
            placeholders = ", ".join(["%s"] * len(song_ids))
            cursor.execute(f"DELETE FROM {table} WHERE song_id IN ({placeholders})", song_ids)
            if rows:
                values = ", ".join(["(%s, %s, %s)"] * len(rows))
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}",
                    [v for row in rows for v in row],
                )


def _record_words(values: list) -> set[str]:
    title_norm, artists_norm, album_norm = values[14], values[15], values[16]
    return {w for w in f"{title_norm} {artists_norm} {album_norm}".split() if len(w) <= 100}


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


def song_upsert_many(
    *, records: Sequence[SongRecord], ctx: UpsertContext | None = None
) -> UpsertResult:
    """Create or update the songs ``records`` describe, in one transaction.

    Idempotent: writing the same records again changes nothing and reports them unchanged.
    Values a record leaves empty never erase stored ones (an import does not undo enrichment).
    Within one batch a song given twice is written once, the later record winning.
    """
    ctx = ctx or UpsertContext()
    result = UpsertResult()
    if not records:
        return result
    if connection.vendor != "postgresql" and len(records) > _SQLITE_BATCH:
        # SQLite binds at most 32,766 parameters a statement: write big batches in parts.
        for start in range(0, len(records), _SQLITE_BATCH):
            part = song_upsert_many(records=records[start : start + _SQLITE_BATCH], ctx=ctx)
            result.created += part.created
            result.updated += part.updated
            result.unchanged += part.unchanged
            result.song_ids += part.song_ids
        return result
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Don't wait for the WAL flush at each batch's commit. A crash may lose the last
            # few batches, never corrupt anything, and re-running the import (idempotent)
            # writes them again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        _ensure_artists(records, ctx)
        _ensure_albums(records, ctx)
        resolved = _resolve_keys(records)
        now = timezone.now()
        by_key: dict[str, tuple[SongRecord, bool]] = {}
        for record, (key, existed) in zip(records, resolved, strict=True):
            if key in by_key:
                result.unchanged += 1  # the line repeats a song of this batch: merged into it
                record = _merge(by_key[key][0], record)
            by_key[key] = (record, existed)
        values = {key: _song_values(r, key, ctx, now) for key, (r, _) in by_key.items()}
        written = {key: song_id for song_id, key in _insert_songs(list(values.values()))}
        for key, (_, existed) in by_key.items():
            if key not in written:
                result.unchanged += 1
            elif existed:
                result.updated += 1
            else:
                result.created += 1
        result.song_ids = list(written.values())
        if written:
            # Every written song gets its artist list anew: a song counted as new may, in a race
            # with another import, have been written by it a moment ago.
            _write_song_artists(
                list(written.values()),
                [
                    [song_id, ctx.artist_ids[artist_key(name)], position]
                    for key, song_id in written.items()
                    for position, name in enumerate(by_key[key][0].artists)
                ],
            )
            words = set().union(*(_record_words(values[k]) for k in written)) - ctx.words_seen
            if words:
                SearchWord.objects.bulk_create(
                    [SearchWord(word=w) for w in words], ignore_conflicts=True
                )
                ctx.words_seen |= words
    ctx.songs_written += result.created
    if ctx.songs_written >= ctx.next_analyze:
        _analyze()
        ctx.next_analyze *= 2
    ctx.trim()
    # Under DEBUG, Django keeps every statement; a long import must not grow memory with it.
    connection.queries_log.clear()
    return result
