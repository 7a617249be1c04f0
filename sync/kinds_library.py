"""The users' library kinds (issue 12): ``user_plays_sync``, ``user_playlists_sync`` and
``user_history_import``, registered with the others through ``sync.kinds.BUILTIN_KINDS``.

Each works on one user's connection (the job's target user, so the job framework never runs
two of one kind for a connection at once) and calls a service of ``library``. Spotify calls
go through the connection's client on the library lane of the shared budget; a 429 raises
``SpotifyRateLimited``, which the runner treats as a pause (no attempt used) and the job goes
on from the stored cursor afterwards. A connection that needs reauth or has expired fails
its job with that reason; a failure is written to that connection's state only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from catalog.enrichment.calls import web_api_calls, web_api_total
from library.eligibility import connection_blocker
from library.selectors import HISTORY_KIND, PLAYLISTS_KIND, PLAYS_KIND
from library.services.history import history_import
from library.services.playlists import playlists_sync
from library.services.plays import plays_sync
from library.services.state import sync_state_failure, sync_state_success
from spotify_integration.client import SpotifyClient, count_spotify_calls
from spotify_integration.exceptions import SpotifyNotConnected
from spotify_integration.lanes import Lane
from spotify_integration.models import SpotifyConnection
from spotify_integration.services.connections import ConnectionTokenStore
from sync.exceptions import JobFailed, is_pause
from sync.kinds_enrichment import _CallMeter
from sync.params import ImportFileField, NoParams
from sync.registry import JobKind, TargetPolicy
from sync.services.context import JobContext


def _connection(ctx: JobContext) -> SpotifyConnection:
    connection = None
    if ctx.target_user_id is not None:
        connection = SpotifyConnection.objects.filter(user_id=ctx.target_user_id).first()
    if connection is None:
        raise JobFailed(
            "The user has no Spotify connection (disconnected).", code=SpotifyNotConnected.code
        )
    return connection


def _sync_run(
    ctx: JobContext,
    kind: str,
    work: Callable[[SpotifyConnection, SpotifyClient, _CallMeter], dict[str, Any]],
) -> dict[str, Any]:
    connection = _connection(ctx)
    blocker = connection_blocker(connection)
    if blocker is not None:
        sync_state_failure(connection_id=connection.pk, kind=kind, message=blocker.message)
        raise JobFailed(blocker.message, code=blocker.reason)
    client = SpotifyClient.for_connection(
        connection, token_store=ConnectionTokenStore(), lane=Lane.LIBRARY
    )
    with count_spotify_calls() as calls:
        meter = _CallMeter(ctx, calls)
        try:
            result = work(connection, client, meter)
        except Exception as exc:
            if not is_pause(exc):  # a pause is not the connection's failure: it resumes
                sync_state_failure(connection_id=connection.pk, kind=kind, message=str(exc))
            raise
        finally:
            meter.flush()
    sync_state_success(connection_id=connection.pk, kind=kind)
    return {
        **result,
        "spotify_calls": web_api_total(calls),
        "calls_by_endpoint": web_api_calls(calls),
    }


def user_plays_sync_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    def work(connection: SpotifyConnection, client: SpotifyClient, meter: _CallMeter) -> dict:
        report = plays_sync(connection=connection, client=client)
        ctx.report(done=report.inserted, total=report.fetched)
        return report.as_dict()

    return _sync_run(ctx, PLAYS_KIND, work)


def user_playlists_sync_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    def work(connection: SpotifyConnection, client: SpotifyClient, meter: _CallMeter) -> dict:
        def on_playlist(done: int, total: int) -> bool:
            meter.flush()
            return ctx.checkpoint(done=done, total=total)

        report = playlists_sync(connection=connection, client=client, on_playlist=on_playlist)
        return report.as_dict()

    return _sync_run(ctx, PLAYLISTS_KIND, work)


class HistoryImportParams(forms.Form):
    names = forms.CharField(
        max_length=20_000, help_text="Export files in the import folder, comma-separated."
    )

    def clean_names(self) -> str:
        names = [n for n in self.cleaned_data["names"].split(",") if n]
        field = ImportFileField()
        return ",".join(field.clean(n) for n in names)


def user_history_import_run(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    connection = _connection(ctx)
    names = [n for n in str(params["names"]).split(",") if n]
    ctx.report(done=0, total=len(names))
    report = history_import(connection=connection, names=names)
    ctx.report(done=len(names))
    return report.as_dict()


LIBRARY_KINDS: list[JobKind] = [
    JobKind(
        name=PLAYS_KIND,
        label="Sync a user's recently played",
        description="Read the user's recently played tracks after the newest stored play and "
        "store the new ones (idempotent); a full page newer than the cursor records a gap. "
        "One Spotify call.",
        run=user_plays_sync_run,
        params_form=NoParams,
        repeatable=True,
        target=TargetPolicy.REQUIRED,
        max_attempts=3,
    ),
    JobKind(
        name=PLAYLISTS_KIND,
        label="Sync a user's playlists",
        description="List the user's playlists (one call per 50) and read the items of those "
        "whose snapshot changed and that the user owns or collaborates on.",
        run=user_playlists_sync_run,
        params_form=NoParams,
        repeatable=True,
        target=TargetPolicy.REQUIRED,
        max_attempts=3,
    ),
    JobKind(
        name=HISTORY_KIND,
        label="Import a user's streaming history",
        description="Import uploaded Extended streaming history files as plays, all files in "
        "one transaction (idempotent), and mark the gaps they fill. No Spotify call.",
        run=user_history_import_run,
        params_form=HistoryImportParams,
        repeatable=True,
        target=TargetPolicy.REQUIRED,
        max_attempts=3,
    ),
]
