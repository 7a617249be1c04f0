"""Writing plays: one rule for the API sync and the export import.

Unique key (connection, ``played_at``, track): the same play written twice is absorbed. The
API gives ``played_at`` in ms, the export's ``ts`` in whole seconds, so one play read both ways
has two slightly different times. The rule (docs/library.md): a new row is the same play as a
stored play of the *other* source and the same track whose time is at most
``LIBRARY_EXPORT_MATCH_WINDOW_SECONDS`` away, and is not written. Within one source only the
exact key counts (two API plays of one track are always distinct times).

The rule reads the stored plays and then inserts, so two writers of one connection (a plays
sync and an export import are different job kinds and may run at once) are serialised by a
transaction-scoped advisory lock on the connection: the second reads what the first committed.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection

from library.models import Play, PlaySource


@dataclass(frozen=True)
class NewPlay:
    played_at: datetime
    track_id: str
    song_id: int | None = None
    context_type: str = ""
    context_uri: str = ""
    ms_played: int | None = None


@dataclass(frozen=True)
class StoreResult:
    inserted: list[NewPlay]
    duplicates: int


# The advisory lock's first key: "library plays" (the second is the connection's id).
PLAYS_LOCK_NAMESPACE = 12_0001


def _lock_connection_plays(connection_id: int) -> None:
    """Hold the connection's plays lock until the surrounding transaction ends.

    PostgreSQL only: SQLite (the embedded default) lets one transaction write at a time, and
    its transactions take the write lock when they begin (IMMEDIATE), so they never overlap.
    """
    if db_connection.vendor != "postgresql":
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [PLAYS_LOCK_NAMESPACE, connection_id % 2**31],
        )


def match_window() -> timedelta:
    return timedelta(seconds=settings.LIBRARY_EXPORT_MATCH_WINDOW_SECONDS)


def plays_store(*, connection_id: int, plays: list[NewPlay], source: str) -> StoreResult:
    """Insert the plays that are new (see the module's rule); run it inside a transaction.

    ``bulk_create(ignore_conflicts=True)`` on the unique key makes a concurrent writer of the
    same plays harmless; the connection's advisory lock makes a concurrent writer of the other
    source wait, so the window rule sees its plays (otherwise one play read both ways at
    once would be stored twice).
    """
    if not plays:
        return StoreResult(inserted=[], duplicates=0)
    if not db_connection.in_atomic_block:
        raise RuntimeError("plays_store runs inside a transaction: its lock is the transaction's")
    _lock_connection_plays(connection_id)
    window = match_window()
    low = min(p.played_at for p in plays) - window
    high = max(p.played_at for p in plays) + window
    stored = Play.objects.filter(
        connection_id=connection_id, played_at__gte=low, played_at__lte=high
    ).values_list("played_at", "track_id", "source")
    exact: set[tuple[datetime, str]] = set()
    other: dict[str, list[datetime]] = defaultdict(list)
    for played_at, track_id, stored_source in stored:
        exact.add((played_at, track_id))
        if stored_source != source:
            other[track_id].append(played_at)
    for times in other.values():
        times.sort()
    fresh: list[NewPlay] = []
    seen: set[tuple[datetime, str]] = set()
    for play in plays:
        key = (play.played_at, play.track_id)
        if key in exact or key in seen or _near(other.get(play.track_id), play.played_at, window):
            continue
        seen.add(key)
        fresh.append(play)
    Play.objects.bulk_create(
        [
            Play(
                connection_id=connection_id,
                played_at=p.played_at,
                track_id=p.track_id,
                song_id=p.song_id,
                context_type=p.context_type[:20],
                context_uri=p.context_uri[:200],
                ms_played=p.ms_played,
                source=source,
            )
            for p in fresh
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    return StoreResult(inserted=fresh, duplicates=len(plays) - len(fresh))


def _near(times: list[datetime] | None, moment: datetime, window: timedelta) -> bool:
    if not times:
        return False
    i = bisect.bisect_left(times, moment - window)
    return i < len(times) and times[i] <= moment + window


__all__ = ["NewPlay", "PlaySource", "StoreResult", "match_window", "plays_store"]
