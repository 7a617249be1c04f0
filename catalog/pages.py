"""The search page for people at ``/``: Encore's front door.

With JavaScript the page searches as you type through ``GET /api/songs/search/``
(``catalog/static/catalog/search.js``); without it the form GETs ``/?q=…`` and this view renders
the same results server-side, from the same response dict the API sends, so both read alike.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalog.search import SearchFilters, song_search
from catalog.serializers import SearchResponseSerializer, SongSearchInputSerializer

PAGE_SIZE = 20
# Statuses of ``sources.spotify`` that mean Spotify was wanted but did not answer.
SPOTIFY_UNAVAILABLE = frozenset({"timeout", "rate_limited", "circuit_open", "error"})


def _search_data(*, query: str, limit: int) -> dict[str, Any]:
    """The API's response body for this query (the local search)."""
    filters = SearchFilters()
    result = song_search(query=query, filters=filters, limit=limit, offset=0)
    body = {
        "query": {
            "q": query,
            "normalized": result.normalized,
            "terms": result.terms,
            "filters": filters.as_dict(),
        },
        "total": result.total,
        "total_is_exact": result.total_is_exact,
        "has_more": len(result.results) < result.total or not result.total_is_exact,
        "limit": limit,
        "offset": 0,
        "took_ms": result.took_ms,
        "results": result.results,
    }
    return dict(SearchResponseSerializer(body).data)


def _first_error(errors: dict[str, Any]) -> str:
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) else messages
    label = "Search" if field == "q" else field
    return f"{label}: {message}"


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """``/`` and ``/?q=…``: the search box, and the results when there is a query.

    A blank query is the empty page; a query the API would refuse is shown with the API's
    message and a 400, never a 500.
    """
    query = request.GET.get("q", "")
    context: dict[str, Any] = {"q": query, "data": None, "error": None, "spotify_note": False}
    status = 200
    if query.strip():
        serializer = SongSearchInputSerializer(data={"q": query, "limit": PAGE_SIZE})
        if serializer.is_valid():
            data = _search_data(query=serializer.validated_data["q"], limit=PAGE_SIZE)
            spotify = (data.get("sources") or {}).get("spotify") or {}
            context["data"] = data
            context["spotify_note"] = spotify.get("status") in SPOTIFY_UNAVAILABLE
        else:
            context["error"] = _first_error(serializer.errors)
            status = 400
    return render(request, "catalog/search.html", context, status=status)
