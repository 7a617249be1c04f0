"""What lives for one import (``UpsertContext``) and what a batch reports (``UpsertResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field

BOUNDED = 200_000  # entries an id cache keeps before it starts over (memory stays flat)


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
        caches: tuple[dict[str, int] | set[str], ...] = (
            self.artist_ids,
            self.album_ids,
            self.words_seen,
        )
        for cache in caches:
            if len(cache) > BOUNDED:
                cache.clear()


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
