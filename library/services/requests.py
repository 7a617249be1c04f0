"""Starting library syncs on request (the "sync now" button, the admin's actions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from library.eligibility import sync_blocker
from library.exceptions import LibrarySyncUnavailable, UnknownSyncKind
from library.selectors import PLAYLISTS_KIND, PLAYS_KIND
from spotify_integration.models import SpotifyConnection
from spotify_integration.permissions import connection_require_scopes
from sync.models import JobTrigger
from sync.services.jobs import JobRequest, job_create

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KINDS_FOR = {
    "plays": (PLAYS_KIND,),
    "playlists": (PLAYLISTS_KIND,),
    "all": (PLAYS_KIND, PLAYLISTS_KIND),
}
# The Spotify scopes each sync needs (the read endpoints name theirs from these too).
PLAYLIST_SCOPES = ["playlist-read-private", "playlist-read-collaborative"]
PLAYS_SCOPES = ["user-read-recently-played"]
SCOPES_FOR = {
    "plays": PLAYS_SCOPES,
    "playlists": PLAYLIST_SCOPES,
    "all": [*PLAYS_SCOPES, *PLAYLIST_SCOPES],
}


def request_sync(
    connection: SpotifyConnection,
    what: str,
    *,
    triggered_by: AbstractBaseUser | None = None,
    trigger: str = JobTrigger.API,
) -> list[JobRequest]:
    """Start the plays sync, the playlists sync or both for ``connection``; returns each
    kind's job request (the job, and whether it was already active).

    A kind already pending or running for the connection is returned as it is, with
    ``created`` false (the job framework's one-active-job-per-kind-and-target rule, enforced
    by the database), so repeating the request is harmless. Raises ``UnknownSyncKind`` (400,
    field ``what``), ``SpotifyMissingScopes`` (403 ``spotify_scope_missing``: the job could
    only fail at Spotify) and ``LibrarySyncUnavailable`` (409, with ``reason`` needs_reauth |
    expired | profile_pending | paused).
    ``trigger`` is the job's trigger (api by default; the admin passes ``admin``).
    """
    kinds = KINDS_FOR.get(what) if isinstance(what, str) else None
    if kinds is None:
        raise UnknownSyncKind(
            f"what: expected plays, playlists or all, not {what!r}.", detail={"what": what}
        )
    connection_require_scopes(connection=connection, scopes=SCOPES_FOR[what])
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
        )
        for kind in kinds
    ]
