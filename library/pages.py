"""The /spotify/ page: the signed-in user's connection, library, sync and history upload.

Plain forms that work without JavaScript: "sync now" POSTs to /spotify/sync/ and the upload to
/spotify/history/; each calls the same service as the API, says what happened in a message and
redirects back (a bad form renders the page with a 400 naming the field). The small script
(library/static/library/spotify.js) only turns "sync now" into a fetch that shows the job until
it ends. Disconnecting is POST /spotify/ with ``action=disconnect``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import ApplicationError
from library import selectors
from library.serializers import HistoryUploadInputSerializer, SyncRequestInputSerializer
from library.services.history import import_history
from library.services.requests import request_sync
from spotify_integration import selectors as spotify_selectors
from spotify_integration.models import SpotifyConnection
from spotify_integration.services.connections import connection_delete

TEMPLATE = "library/spotify.html"
PLAYS_PER_PAGE = 25
PLAYLISTS_PER_PAGE = 50
WHAT_SAID = {"plays": "plays", "playlists": "playlists", "all": "plays and playlists"}
STATE_SAID = {
    "active": "Connected.",
    "expiring": "Connected, expiring soon.",
    "expired": "Expired.",
    "needs_reauth": "Needs you to connect again.",
    "profile_pending": "Connected, profile pending.",
}
KIND_SAID = {
    selectors.PLAYS_KIND: "plays",
    selectors.PLAYLISTS_KIND: "playlists",
    selectors.HISTORY_KIND: "history import",
}


def _signed_in(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user of a view that ``login_required`` guards."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):  # pragma: no cover - login_required ran first
        raise PermissionDenied
    return user


def _page_number(request: HttpRequest, name: str) -> int:
    raw = request.GET.get(name, "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = _signed_in(request)
    context: dict[str, Any] = {
        "status": spotify_selectors.connection_status(user=user),
        "connection": None,
        "interval_plays_minutes": settings.LIBRARY_PLAYS_SYNC_INTERVAL // 60,
        "interval_playlists_hours": settings.LIBRARY_PLAYLISTS_SYNC_INTERVAL // 3600,
        "max_file_mb": settings.LIBRARY_HISTORY_MAX_FILE_BYTES // 1_000_000,
        **extra,
    }
    connection = spotify_selectors.connection_get_for_user(user=user)
    if connection is None:
        return context
    plays = Paginator(selectors.plays_of(connection), PLAYS_PER_PAGE)
    playlists = Paginator(selectors.playlists_of(connection), PLAYLISTS_PER_PAGE)
    health = spotify_selectors.connection_health(connection)
    context.update(
        connection=connection,
        health=health,
        health_said=STATE_SAID.get(health.state, health.state),
        summary=selectors.library_summary(connection),
        plays=plays.get_page(_page_number(request, "plays_page")),
        playlists=playlists.get_page(_page_number(request, "playlists_page")),
        gaps=list(selectors.gaps_of(connection, open_only=True)[:20]),
        runs=[
            (job, KIND_SAID.get(job.kind, job.kind))
            for job in selectors.sync_jobs_of(connection)[:5]
        ],
    )
    return context


def _page(request: HttpRequest, *, error: str | None = None, status: int = 200) -> HttpResponse:
    return render(request, TEMPLATE, _context(request, form_error=error), status=status)


def _back() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("library:page"))


def _first_error(errors: dict[str, Any]) -> str:
    field, problems = next(iter(errors.items()))
    problem = problems[0] if isinstance(problems, list) else problems
    return f"{field}: {problem}"


@login_required
@require_http_methods(["GET", "POST"])
def spotify_page(request: HttpRequest) -> HttpResponse:
    """GET shows the page; POST ``action=disconnect`` disconnects (the library goes with it)."""
    if request.method == "POST":
        if request.POST.get("action") != "disconnect":
            return _page(request, error="action: unknown action.", status=400)
        # The library hangs off the connection: it goes with it, purge or not.
        connection_delete(user=_signed_in(request), purge=True)
        messages.success(
            request, "Spotify disconnected; your playlists, plays and gaps stored here are deleted."
        )
        return _back()
    return _page(request)


def _connection_or_message(request: HttpRequest) -> SpotifyConnection | None:
    connection = spotify_selectors.connection_get_for_user(user=_signed_in(request))
    if connection is None:
        messages.error(request, "Connect your Spotify account first.")
    return connection


@login_required
@require_POST
def spotify_page_sync(request: HttpRequest) -> HttpResponse:
    """The "sync now" form: ``what`` = plays | playlists | all."""
    form = SyncRequestInputSerializer(data=request.POST)
    if not form.is_valid():
        return _page(request, error=_first_error(form.errors), status=400)
    connection = _connection_or_message(request)
    if connection is None:
        return _back()
    what = form.validated_data["what"]
    try:
        requests = request_sync(connection, what, triggered_by=_signed_in(request))
    except ApplicationError as exc:
        messages.error(request, f"Not synced: {exc.message}")
        return _back()
    if all(r.already_active for r in requests):
        messages.info(request, f"A sync of your {WHAT_SAID[what]} is already running.")
    else:
        messages.success(
            request,
            f"Sync of your {WHAT_SAID[what]} started; this page shows it when it is done.",
        )
    return _back()


@login_required
@require_POST
def spotify_page_history(request: HttpRequest) -> HttpResponse:
    """The upload form of the streaming-history export (field ``files``)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > settings.LIBRARY_HISTORY_MAX_UPLOAD_BYTES:
        limit = settings.LIBRARY_HISTORY_MAX_UPLOAD_BYTES // 1_000_000
        return _page(request, error=f"files: the upload is over {limit} MB.", status=413)
    form = HistoryUploadInputSerializer(data={"files": request.FILES.getlist("files")})
    if not form.is_valid():
        return _page(request, error=_first_error(form.errors), status=400)
    connection = _connection_or_message(request)
    if connection is None:
        return _back()
    try:
        import_history(connection, form.validated_data["files"], triggered_by=_signed_in(request))
    except ApplicationError as exc:
        return _page(request, error=exc.message, status=exc.http_status)
    messages.success(
        request, "Your streaming history is being imported; its plays appear here when it is done."
    )
    return _back()
