"""The job kind of the Spotify connection lifecycle: ``spotify_profile_fetch``, registered with
the others through ``sync.kinds.BUILTIN_KINDS``.

A connect that completed while the Web API was paused stores the grant with its profile
pending (spotify_integration.services.profile); this job reads ``/me`` for that connection and
links the account. Started by the callback (and again by the library fan-out when the last one
gave up and the profile is still pending), one per user (the target key); while Spotify is
still paused its call raises the rate limit, which the runner waits out without using an
attempt. Repeatable: a second run finds nothing pending and makes no call.
"""

from __future__ import annotations

from typing import Any

from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.exceptions import SpotifyError
from spotify_integration.models import SpotifyConnection
from spotify_integration.ratelimit import Lane
from spotify_integration.selectors import connection_health
from spotify_integration.services.connections import ConnectionTokenStore
from spotify_integration.services.profile import PROFILE_FETCH_KIND, connection_profile_complete
from sync.exceptions import JobFailed
from sync.params import NoParams
from sync.registry import JobKind, TargetPolicy
from sync.services.context import JobContext


def spotify_profile_fetch_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Read ``/me`` for the target user's pending connection and link the account."""
    if ctx.target_user_id is None:  # pragma: no cover - the kind requires a target user
        raise JobFailed("target_user: this kind needs a target user.")
    connection = SpotifyConnection.objects.filter(user_id=ctx.target_user_id).first()
    if connection is None or not connection.profile_pending:
        ctx.report(done=0, total=0)
        return {"outcome": "not_pending"}
    health = connection_health(connection)
    if not health.usable:  # expired, or needs the user to connect again: no call can succeed
        raise JobFailed(health.reason, code=f"connection_{health.state}")
    client = SpotifyClient.for_connection(
        connection, token_store=ConnectionTokenStore(), lane=Lane.LIBRARY
    )
    with count_spotify_calls() as calls:
        try:
            profile = client.me()
        finally:
            ctx.add_spotify_calls(calls.total)
    try:
        outcome = connection_profile_complete(connection_id=connection.pk, profile=profile)
    except SpotifyError as exc:  # a profile without account_id: nothing to link on
        raise JobFailed(exc.message, code=exc.code) from None
    ctx.report(done=1, total=1)
    return {"outcome": outcome}


CONNECTION_KINDS: list[JobKind] = [
    JobKind(
        name=PROFILE_FETCH_KIND,
        label="Read a connection's Spotify profile",
        description="For a connection made while Spotify was paused: read /me (one call) and "
        "link the Spotify account, or refuse it when another user holds that account.",
        run=spotify_profile_fetch_run,
        params_form=NoParams,
        repeatable=True,
        target=TargetPolicy.REQUIRED,
        max_attempts=5,
    ),
]
