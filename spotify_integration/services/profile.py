"""Connections whose profile is pending: a connect that completed while Spotify was paused.

The code exchange (accounts service) succeeded but ``/me`` (Web API) could not be asked: the
Web API was paused after a 429, our shared budget was spent, or Spotify was unavailable. The
grant is stored at once (an authorization code is single use) with ``profile_pending``; the
``spotify_profile_fetch`` job reads ``/me`` when the pause ends and links the account
(docs/connections.md "Profile pending").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from spotify_integration.exceptions import SpotifyAccountLinkedElsewhere
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.services.connections import (
    connection_link,
    grant_fields,
    profile_fields,
)

if TYPE_CHECKING:
    from spotify_integration.client.accounts import TokenGrant

logger = logging.getLogger("encore.spotify")

# The job kind that reads /me for a pending connection (sync/kinds_connections.py): started by
# the callback, and again by the library fan-out should the first one give up.
PROFILE_FETCH_KIND = "spotify_profile_fetch"

LINKED_ELSEWHERE_REASON = (
    "The Spotify account you connected is already connected to another Encore user; "
    "connect a different Spotify account."
)

ProfileOutcome = Literal["linked", "not_pending", "linked_elsewhere"]


@sensitive_variables("grant")
def connection_store_pending(*, user_id: int, grant: TokenGrant) -> SpotifyConnection:
    """Store a fresh grant whose ``/me`` could not be read: active, profile pending.

    A new connection has no account_id yet (NULL); a reconnect keeps its account_id until
    ``/me`` says which account the new tokens belong to. Safe to repeat.
    """
    fields = {**grant_fields(grant), "profile_pending": True}
    with transaction.atomic():
        connection, created = SpotifyConnection.objects.update_or_create(
            user_id=user_id, defaults=fields
        )
    logger.info(
        "Spotify connection %s for user %s stored with its profile pending",
        connection.pk,
        user_id,
        extra={"spotify_connection_id": connection.pk, "user_id": user_id, "new_row": created},
    )
    return connection


def connection_profile_complete(*, connection_id: int, profile: dict[str, Any]) -> ProfileOutcome:
    """Link a pending connection to the account ``/me`` named (``profile``).

    ``linked``: the account is now this connection's (a different account than the row had
    replaces the row: :func:`~spotify_integration.services.connections.connection_link`).
    ``linked_elsewhere``: another user holds that account: never linked twice, so this
    connection's tokens (the other user's account) are erased and it needs a reconnect, with
    the reason shown to the user. ``not_pending``: nothing to do (done already, reconnected
    or disconnected meanwhile). Safe to repeat.
    """
    fields = profile_fields(profile)
    with transaction.atomic():
        row = (
            SpotifyConnection.objects.select_for_update()
            .filter(pk=connection_id, profile_pending=True)
            .first()
        )
        if row is None:
            return "not_pending"
        try:
            with transaction.atomic():
                kept = {
                    name: getattr(row, name)
                    for name in (
                        "granted_scopes",
                        "access_token_encrypted",
                        "refresh_token_encrypted",
                        "access_token_expires_at",
                        "authorized_at",
                        "last_refreshed_at",
                        "status",
                        "last_error",
                        "last_error_at",
                    )
                }
                connection_link(user_id=row.user_id, fields={**kept, **fields})
        except SpotifyAccountLinkedElsewhere:
            now = timezone.now()
            SpotifyConnection.objects.filter(pk=row.pk).update(
                status=ConnectionStatus.NEEDS_REAUTH,
                profile_pending=False,
                access_token_encrypted="",
                refresh_token_encrypted="",
                access_token_expires_at=None,
                last_error=LINKED_ELSEWHERE_REASON,
                last_error_at=now,
                updated_at=now,
            )
            logger.warning(
                "Spotify connection %s: the account is linked to another user; not linked",
                row.pk,
                extra={"spotify_connection_id": row.pk, "user_id": row.user_id},
            )
            return "linked_elsewhere"
    logger.info(
        "Spotify connection %s: profile read, account linked",
        connection_id,
        extra={"spotify_connection_id": connection_id},
    )
    return "linked"
