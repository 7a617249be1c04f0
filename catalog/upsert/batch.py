"""``song_upsert_many``: a batch of records in one transaction, through the database's writer.

Per batch, a handful of statements whatever its size: the records' songs are resolved
(catalog.upsert.resolve), lines of one song are merged, and the batch goes to the PostgreSQL
writer (one COPY, then set-based statements) or the SQLite writer (VALUES lists).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

import psycopg.errors
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from catalog.models import SearchWord
from catalog.records import SongRecord
from catalog.upsert.context import UpsertContext, UpsertResult
from catalog.upsert.postgres import analyze, write_postgres
from catalog.upsert.resolve import resolve_keys
from catalog.upsert.rows import PreparedRecord, merge, prepared
from catalog.upsert.sqlite import SQLITE_BATCH, write_sqlite
from catalog.version import catalog_changed

logger = logging.getLogger(__name__)

# Errors a batch meets only because another import wrote the same songs at the same moment.
RACES = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.UniqueViolation,
    psycopg.errors.SerializationFailure,
)


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
    if not postgres and len(records) > SQLITE_BATCH:
        # SQLite binds at most 32,766 parameters a statement: write big batches in parts.
        result = UpsertResult()
        for start in range(0, len(records), SQLITE_BATCH):
            result.add(song_upsert_many(records=records[start : start + SQLITE_BATCH], ctx=ctx))
        return result
    items = [prepared(r, copy_text=postgres) for r in records]
    for attempt in (1, 2):
        try:
            result, words = _upsert_batch(items, ctx, postgres)
            break
        except (IntegrityError, OperationalError) as exc:
            # Two imports writing the same new songs at once can deadlock (songs go in in file
            # order, so that ids follow the file), or both find a Spotify id free and one
            # then trips on the other's row. The batch rolled back; written again it finds
            # the other import's songs and updates them.
            if attempt == 2 or not isinstance(exc.__cause__, RACES):
                raise
            logger.info("import batch hit a concurrent import (%s); writing it again", exc)
    ctx.words_seen |= words
    ctx.songs_written += result.created
    if ctx.songs_written >= ctx.next_analyze:
        analyze()
        ctx.next_analyze *= 2
    ctx.trim()
    # Under DEBUG, Django keeps every statement; a long import must not grow memory with it.
    connection.queries_log.clear()
    return result


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
        for item, (key, existed) in zip(items, resolve_keys(items), strict=True):
            lines.append((key, item))
            if key in by_key:
                result.unchanged += 1  # the line repeats a song of this batch: merged into it
                item = merge(by_key[key][0], item, copy_text=postgres)
            by_key[key] = (item, existed)
        words = _new_words((item.search_text for item, _ in by_key.values()), ctx)
        if postgres:
            result.created, result.updated = write_postgres(
                {key: item for key, (item, _) in by_key.items()}, lines, timezone.now()
            )
        else:
            write_sqlite(by_key, lines, ctx, result)
        result.unchanged += len(by_key) - result.created - result.updated
        if result.created or result.updated:
            catalog_changed()  # the SQL writers send no signal (catalog.version)
        if words:
            # A new word counts the songs of its first batch (a sample of how common it is;
            # manage.py refresh_search_words recounts over the catalog).
            # Without a version bump of its own (catalog.version): the batch bumped above when
            # it wrote a song, and a batch that wrote none brings no word its songs lacked.
            SearchWord._base_manager.bulk_create(
                [SearchWord(word=w, songs=n) for w, n in words.items()], ignore_conflicts=True
            )
    return result, set(words)


def _new_words(search_texts: Iterable[tuple[str, ...]], ctx: UpsertContext) -> Counter[str]:
    """Words of the songs' search columns that this import has not written yet, each with
    the number of the batch's songs that have it."""
    words: Counter[str] = Counter()
    for texts in search_texts:
        words.update(set(" ".join(texts).split()))
    return Counter({w: n for w, n in words.items() if w not in ctx.words_seen and len(w) <= 100})
