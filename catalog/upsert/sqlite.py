"""The SQLite writer: the same song upsert as a VALUES list, with artists and albums written
first and their ids kept in the import's context (catalog.upsert.context)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from catalog.models import Album, Artist, MatchStatus, Song, SongArtist, artist_key
from catalog.records import SongRecord
from catalog.upsert.context import UpsertContext, UpsertResult
from catalog.upsert.rows import PreparedRecord
from catalog.upsert.sql import INSERT_ONLY, SONG_COLUMNS, any_of, conflict_sql

SQLITE_BATCH = 1000  # rows a SQLite statement takes (21 parameters each)


def write_sqlite(
    by_key: dict[str, tuple[PreparedRecord, bool]],
    lines: list[tuple[str, PreparedRecord]],
    ctx: UpsertContext,
    result: UpsertResult,
) -> None:
    """Write songs by key (with whether each existed) and their artists and albums, counting
    the songs created and updated into ``result``."""
    # Artists and albums from the lines in file order: the first that names one decides.
    _ensure_artists([item.record for _, item in lines], ctx)
    _ensure_albums([item for _, item in lines], ctx)
    now = timezone.now()
    values = [_song_values(item, key, ctx, now) for key, (item, _) in by_key.items()]
    written = {key: song_id for song_id, key in _insert_songs(values)}
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


def _ensure_rows(
    model: type[Model], key_column: str, rows: dict[str, list[Any]], columns: list[str]
) -> dict[str, int]:
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
            condition, params = any_of(key_column, missing)
            cursor.execute(f"SELECT {key_column}, id FROM {table} WHERE {condition}", params)
            ids.update(cursor.fetchall())
    return ids


def _ensure_artists(records: Sequence[SongRecord], ctx: UpsertContext) -> None:
    wanted: dict[str, list[Any]] = {}
    for record in records:
        for name in record.artists:
            key = artist_key(name)
            if key not in ctx.artist_ids and key not in wanted:
                wanted[key] = [name, None]
    if wanted:
        ctx.artist_ids.update(_ensure_rows(Artist, "name_key", wanted, ["name", "spotify_id"]))


def _ensure_albums(items: Sequence[PreparedRecord], ctx: UpsertContext) -> None:
    wanted: dict[str, list[Any]] = {}
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


def _upsert_sql(rows: int) -> str:
    columns = [c for c, _, _ in SONG_COLUMNS] + [c for c, _ in INSERT_ONLY]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {Song._meta.db_table} ({', '.join(columns)}) "
        f"VALUES {', '.join([placeholders] * rows)}{conflict_sql()} RETURNING id, identity_key"
    )


def _insert_songs(rows: list[list[Any]]) -> list[tuple[int, str]]:
    """Upsert song rows (in SONG_COLUMNS + INSERT_ONLY order); (id, key) of rows written."""
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(len(rows)), [v for row in rows for v in row])
        return cursor.fetchall()


def _song_values(item: PreparedRecord, key: str, ctx: UpsertContext, now: datetime) -> list[Any]:
    """A song row, in SONG_COLUMNS + INSERT_ONLY order."""
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


def _write_song_artists(song_ids: list[int], rows: list[list[int]]) -> None:
    """Replace the artist lists of these songs with ``rows`` (song, artist, position)."""
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
