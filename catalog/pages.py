"""The search page for people at ``/``: Encore's front door.

With JavaScript the page searches as you type through ``GET /api/songs/search/``
(``catalog/static/catalog/search.js``); without it the form GETs ``/?q=…`` and this view renders
the same results server-side from the dict the API sends (``hybrid_response_data``), so both
read alike. ``spotify=auto|always|never`` passes through as in the API.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from catalog.hybrid import default_mode, hybrid_response_data, hybrid_search
from catalog.search import SearchFilters
from catalog.serializers import SongSearchInputSerializer

PAGE_SIZE = 20
# Statuses of ``sources.spotify`` that mean Spotify was wanted but did not answer.
SPOTIFY_UNAVAILABLE = frozenset({"timeout", "rate_limited", "circuit_open", "error"})


def _first_error(errors: dict[str, Any]) -> str:
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) else messages
    label = "Search" if field == "q" else field
    return f"{label}: {message}"


@require_safe
def search_page(request: HttpRequest) -> HttpResponse:
    """``/`` and ``/?q=…``: the search box, and the results when there is a query.

    A blank query is the empty page; a query the API would refuse is shown with the API's
    message and a 400, never a 500.
    """
    query = request.GET.get("q", "")
    mode = request.GET.get("spotify")
    context: dict[str, Any] = {"q": query, "data": None, "error": None, "spotify_note": False}
    status = 200
    if query.strip():
        given = {"q": query, "limit": PAGE_SIZE, **({"spotify": mode} if mode else {})}
        serializer = SongSearchInputSerializer(data=given)
        if serializer.is_valid():
            params = serializer.validated_data
            result = hybrid_search(
                query=params["q"],
                filters=SearchFilters(),
                limit=PAGE_SIZE,
                offset=0,
                spotify=params.get("spotify") or default_mode(),
            )
            data = hybrid_response_data(result)
            spotify = (data.get("sources") or {}).get("spotify") or {}
            context["data"] = data
            context["spotify_note"] = spotify.get("status") in SPOTIFY_UNAVAILABLE
        else:
            context["error"] = _first_error(serializer.errors)
            status = 400
    return render(request, "catalog/search.html", context, status=status)
