"""Identity resolution for a batch: which stored song (or which new one) each record is.

Existing songs are found by Spotify id, ISRC or metadata key in one query and each record's
song is decided in Python; a batch with nothing in common with the catalog or within itself
skips the record-by-record walk. The keys themselves follow catalog.identity.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from catalog.identity import free_key, isrc_key
from catalog.models import Song
from catalog.records import SongRecord
from catalog.upsert.rows import PreparedRecord
from catalog.upsert.sql import any_of

StoredSong = tuple[str, str | None, str | None, int]  # identity_key, spotify_id, isrc, id


def lookup_songs(keys: set[str], spotify_ids: set[str], isrcs: set[str]) -> list[StoredSong]:
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
            clauses: list[str] = []
            params: list[str] = []
            for column, values in lookups:
                clause, values_params = any_of(column, values)
                clauses.append(clause)
                params.extend(values_params)
            cursor.execute(
                f"SELECT identity_key, spotify_id, isrc, id FROM {table} "
                f"WHERE {' OR '.join(clauses)}",
                params,
            )
        return cursor.fetchall()


def unrelated(items: Sequence[PreparedRecord], spotify_ids: set[str], isrcs: set[str]) -> bool:
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


def resolve_keys(items: Sequence[PreparedRecord]) -> list[tuple[str, bool]]:
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
    rows = lookup_songs(keys, spotify_ids, isrcs)
    if not rows and unrelated(items, spotify_ids, isrcs):
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
            keyed_by_it = isrc_key(r.isrc)
            options = sorted(by_isrc.get(r.isrc, []), key=lambda k: (k != keyed_by_it, age[k]))
            key = next((k for k in options if compatible(r, k)), None)
        if key is None:
            key = next((k for k in own if k in songs and compatible(r, k)), None)
        if key is None:
            # A new song. Its natural key may be held by a song it is not (one whose ISRC or
            # Spotify id differs): then it takes a key of its own rather than overwrite that.
            key = free_key(own[0], taken=songs.__contains__)
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
