"""The /spotify/ page: status, connect, reconnect and disconnect for signed-in users."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from spotify_integration import selectors, services


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
                    "status": selectors.connection_status(user=request.user),
                    "form_error": "action: unknown action.",
                },
                status=400,
            )
        purge = request.POST.get("purge") in ("1", "true", "on")
        services.connection_delete(user=request.user, purge=purge)
        messages.success(
            request,
            "Spotify disconnected and your stored Spotify data deleted."
            if purge
            else "Spotify disconnected.",
        )
        return HttpResponseRedirect(reverse("spotify:page"))
    return render(
        request,
        "spotify_integration/spotify.html",
        {"status": selectors.connection_status(user=request.user)},
    )
