"""Starting library syncs on request (the "sync now" button, the admin's actions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from library.eligibility import sync_blocker
from library.exceptions import LibrarySyncUnavailable, UnknownSyncKind
from library.selectors import PLAYLISTS_KIND, PLAYS_KIND
from spotify_integration.models import SpotifyConnection
from sync.models import JobTrigger, SyncJob
from sync.services.jobs import job_create

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KINDS_FOR = {
    "plays": (PLAYS_KIND,),
    "playlists": (PLAYLISTS_KIND,),
    "all": (PLAYS_KIND, PLAYLISTS_KIND),
}


def request_sync(
    connection: SpotifyConnection,
    what: str,
    *,
    triggered_by: AbstractBaseUser | None = None,
    trigger: str = JobTrigger.API,
) -> list[SyncJob]:
    """Start the plays sync, the playlists sync or both for ``connection``; returns the jobs.

    A kind already pending or running for the connection is returned as it is (the job
    framework's one-active-job-per-kind-and-target rule, enforced by the database), so
    repeating the request is harmless. Raises ``UnknownSyncKind`` (400, field ``what``) and
    ``LibrarySyncUnavailable`` (409, with ``reason`` needs_reauth | expired | paused).
    ``trigger`` is the job's trigger (api by default; the admin passes ``admin``).
    """
    kinds = KINDS_FOR.get(what) if isinstance(what, str) else None
    if kinds is None:
        raise UnknownSyncKind(
            f"what: expected plays, playlists or all, not {what!r}.", detail={"what": what}
        )
    blocker = sync_blocker(connection)
    if blocker is not None:
        raise LibrarySyncUnavailable(
            blocker.message, reason=blocker.reason, retry_after=blocker.retry_after
        )
    return [
        job_create(
            kind=kind,
            params={},
            trigger=trigger,
            triggered_by=triggered_by,  # type: ignore[arg-type]
            target_user=connection.user,
        ).job
        for kind in kinds
    ]
