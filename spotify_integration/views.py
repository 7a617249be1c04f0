"""The /spotify/ page: status, connect, reconnect and disconnect for signed-in users."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from spotify_integration import selectors
from spotify_integration.services.connections import connection_delete


def _signed_in(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user of a view that ``login_required`` guards."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):  # pragma: no cover - login_required ran first
        raise PermissionDenied
    return user


@login_required
@require_http_methods(["GET", "POST"])
def spotify_page(request: HttpRequest) -> HttpResponse:
    """GET shows the connection; POST ``action=disconnect`` (optional ``purge``) disconnects.

    Connecting is a link to GET /api/spotify/connect/, which redirects to Spotify.
    """
    if request.method == "POST":
        if request.POST.get("action") != "disconnect":
            return render(
                request,
                "spotify_integration/spotify.html",
                {
                    "status": selectors.connection_status(user=_signed_in(request)),
                    "form_error": "action: unknown action.",
                },
                status=400,
            )
        purge = request.POST.get("purge") in ("1", "true", "on")
        connection_delete(user=_signed_in(request), purge=purge)
        messages.success(
            request,
            # The connection is the only Spotify data stored per user today: say no more.
            "Spotify disconnected; Encore keeps no other Spotify data of yours."
            if purge
            else "Spotify disconnected.",
        )
        return HttpResponseRedirect(reverse("spotify:page"))
    return render(
        request,
        "spotify_integration/spotify.html",
        {"status": selectors.connection_status(user=_signed_in(request))},
    )
