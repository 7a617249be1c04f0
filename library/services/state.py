"""Per connection, how each kind of library sync last went (``LibrarySyncState``)."""

from __future__ import annotations

from django.utils import timezone

from library.models import LibrarySyncState
from library.selectors import PLAYLISTS_KIND, PLAYS_KIND

_PREFIX = {PLAYS_KIND: "plays", PLAYLISTS_KIND: "playlists"}


def sync_state_get(connection_id: int) -> LibrarySyncState:
    state, _ = LibrarySyncState.objects.get_or_create(connection_id=connection_id)
    return state


def sync_state_success(*, connection_id: int, kind: str) -> None:
    """The kind's run succeeded: its time, and no error any more."""
    prefix = _PREFIX[kind]
    sync_state_get(connection_id)
    LibrarySyncState.objects.filter(connection_id=connection_id).update(
        **{
            f"{prefix}_synced_at": timezone.now(),
            f"{prefix}_error": "",
            "updated_at": timezone.now(),
        }
    )


def sync_state_failure(*, connection_id: int, kind: str, message: str) -> None:
    """The kind's run failed: only this connection's state records it."""
    prefix = _PREFIX[kind]
    sync_state_get(connection_id)
    LibrarySyncState.objects.filter(connection_id=connection_id).update(
        **{f"{prefix}_error": message[:2000], "updated_at": timezone.now()}
    )
