"""The beat fan-out: every minute, start the library syncs of the connections that are due.

Each connection has a stable offset inside each interval (a hash of its id), and its next due
time is the next slot ``offset + k * interval``: after their first run, connections spread
evenly over the interval instead of all polling in the same minute. A connection that needs
reauth, has expired, or meets a Spotify pause is skipped and the reason stored
(``LibrarySyncState.skipped_reason``); one whose profile is still pending gets its
profile job again if the last one gave up. Each connection gets its own job (a failure stays its
own), never two of one kind at once (the job framework's target key). Safe to run twice: a
second run finds the due times moved on, or the jobs already active.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from library.eligibility import SyncBlocker, connection_blocker, pause_blocker
from library.models import LibrarySyncState
from library.selectors import PLAYLISTS_KIND, PLAYS_KIND
from spotify_integration.client import spotify_configured
from spotify_integration.models import SpotifyConnection
from spotify_integration.services.profile import PROFILE_FETCH_KIND
from sync.models import ACTIVE_STATUSES, JobTrigger, SyncJob
from sync.services.jobs import job_create

logger = logging.getLogger("encore.library")

FAN_OUT_CHUNK = 200  # connections a transaction
PROFILE_PENDING = "profile_pending"  # connection_health's state: the profile job's business


def interval_for(kind: str) -> int:
    if kind == PLAYS_KIND:
        return int(settings.LIBRARY_PLAYS_SYNC_INTERVAL)
    return int(settings.LIBRARY_PLAYLISTS_SYNC_INTERVAL)


def slot_offset(connection_id: int, interval: int) -> int:
    """The connection's stable offset (seconds) inside ``interval``."""
    digest = hashlib.blake2b(str(connection_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % max(1, interval)


def next_due(connection_id: int, kind: str, now: datetime) -> datetime:
    """The connection's first slot of ``kind`` strictly after ``now``."""
    interval = interval_for(kind)
    offset = slot_offset(connection_id, interval)
    epoch = int(now.timestamp())
    k = (epoch - offset) // interval + 1
    return datetime.fromtimestamp(k * interval + offset, tz=UTC)


@dataclass
class FanOutReport:
    connections: int = 0
    enqueued: Counter[str] = field(default_factory=Counter)
    already_active: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    failed: int = 0


_DUE_FIELDS = ((PLAYS_KIND, "plays_due_at"), (PLAYLISTS_KIND, "playlists_due_at"))


def library_fan_out(*, now: datetime | None = None) -> FanOutReport:
    """Start the due syncs of every connection (see the module's docstring)."""
    now = now or timezone.now()
    report = FanOutReport()
    if not spotify_configured():
        return report
    paused = pause_blocker()
    _states_create()
    connections = list(
        SpotifyConnection.objects.select_related("user", "library_state").order_by("pk")
    )
    for start in range(0, len(connections), FAN_OUT_CHUNK):
        # One transaction a chunk (a commit per connection would cost an fsync each); each
        # connection with work in a savepoint of its own; the jobs' messages go out on commit.
        with transaction.atomic():
            for connection in connections[start : start + FAN_OUT_CHUNK]:
                report.connections += 1
                try:
                    _fan_out_one(connection, now=now, paused=paused, report=report)
                except Exception:  # one connection's trouble never stops the others
                    report.failed += 1
                    logger.exception("library fan-out: connection %s failed", connection.pk)
    return report


def _states_create() -> None:
    """A sync state for every connection that has none yet (one statement)."""
    missing = SpotifyConnection.objects.filter(library_state__isnull=True).values_list(
        "pk", flat=True
    )
    LibrarySyncState.objects.bulk_create(
        [LibrarySyncState(connection_id=pk) for pk in missing], ignore_conflicts=True
    )


def _profile_fetch_restart(
    connection: SpotifyConnection, *, now: datetime, report: FanOutReport
) -> None:
    """A connection whose profile is still pending while its profile job gave up (a pause or
    an outage longer than the job's attempts) gets a new one, at most once a plays interval:
    otherwise it would wait for ``/me`` forever and never sync."""
    last = (
        SyncJob.objects.filter(kind=PROFILE_FETCH_KIND, target_user_id=connection.user_id)
        .order_by("-created_at", "-id")
        .values_list("status", "finished_at")
        .first()
    )
    if last is not None:
        status, finished_at = last
        recent = now - timedelta(seconds=interval_for(PLAYS_KIND))
        if status in ACTIVE_STATUSES or (finished_at is not None and finished_at > recent):
            return
    with transaction.atomic():
        request = job_create(
            kind=PROFILE_FETCH_KIND,
            params={},
            trigger=JobTrigger.SCHEDULE,
            target_user=connection.user,
        )
    if request.created:
        report.enqueued[PROFILE_FETCH_KIND] += 1


def _fan_out_one(
    connection: SpotifyConnection,
    *,
    now: datetime,
    paused: SyncBlocker | None,
    report: FanOutReport,
) -> None:
    state = connection.library_state
    blocker = connection_blocker(connection, now=now) or paused
    if blocker is not None:
        reason = f"{blocker.reason}: {blocker.message}"[:200]
        report.skipped[blocker.reason] += 1
        if state.skipped_reason != reason:
            LibrarySyncState.objects.filter(pk=state.pk).update(
                skipped_reason=reason, updated_at=now
            )
        if blocker.reason == PROFILE_PENDING:
            _profile_fetch_restart(connection, now=now, report=report)
        return
    due = [
        (kind, field_name)
        for kind, field_name in _DUE_FIELDS
        if getattr(state, field_name) is None or getattr(state, field_name) <= now
    ]
    if not due and not state.skipped_reason:
        return  # nothing to do: no query
    with transaction.atomic():
        updates: dict[str, object] = {"skipped_reason": ""}
        for kind, field_name in due:
            request = job_create(
                kind=kind, params={}, trigger=JobTrigger.SCHEDULE, target_user=connection.user
            )
            (report.enqueued if request.created else report.already_active)[kind] += 1
            updates[field_name] = next_due(connection.pk, kind, now)
        LibrarySyncState.objects.filter(pk=state.pk).update(**updates, updated_at=now)
