"""The song upsert's SQL that both writers share: the song columns, what an update writes to
each, and the ``ON CONFLICT`` clause built from them."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from catalog.models import Song

# (column, PostgreSQL type, what an update writes): "new" the record's value; "coalesce" the
# record's value unless it has none; "album" and "artists" follow whether the record names an
# album, or any artists: a record that does not keeps the stored ones.
SONG_COLUMNS: list[tuple[str, str, str]] = [
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
INSERT_ONLY: list[tuple[str, str]] = [
    ("identity_key", "text"),
    ("match_status", "text"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
]


def conflict_sql() -> str:
    """``ON CONFLICT (identity_key) DO UPDATE .. WHERE <something changed>`` for catalog_song.

    A value the new row leaves empty keeps the stored one (an import does not undo
    enrichment); an unchanged row is not rewritten at all.
    """
    table = Song._meta.db_table
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    new_values = {}
    for column, _, update in SONG_COLUMNS:
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


def any_of(column: str, values: Sequence[str]) -> tuple[str, list[str]]:
    """SQLite: ``column`` equals one of ``values``, as SQL and parameters."""
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
