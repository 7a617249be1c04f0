"""The catalog's REST API: a thin layer over catalog.search and catalog.selectors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors
from catalog.search import SearchFilters, song_search
from catalog.serializers import (
    SearchResponseSerializer,
    SongListInputSerializer,
    SongSearchInputSerializer,
    SongSerializer,
)
from core.pagination import StrictCursorPagination

FILTER_PARAMS = [
    OpenApiParameter("artist", str, description="artist name contains (accents ignored)"),
    OpenApiParameter("album", str, description="album title contains (accents ignored)"),
    OpenApiParameter("year_min", int, description="released in or after this year"),
    OpenApiParameter("year_max", int, description="released in or before this year"),
    OpenApiParameter("explicit", bool),
    OpenApiParameter("has_spotify_id", bool, description="matched to a Spotify track or not"),
]


class SongPagination(StrictCursorPagination):
    """Cursor pagination over ids: stable while rows are added, and no COUNT(*) per page."""

    ordering = "id"
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100


def _validated(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SongViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SongSerializer
    pagination_class = SongPagination
    queryset = selectors.songs_for_display()

    def get_queryset(self):
        if self.action == "list":
            return selectors.song_list(**_validated(SongListInputSerializer, self.request))
        return selectors.songs_for_display()

    @extend_schema(
        summary="List songs",
        parameters=[
            *FILTER_PARAMS,
            OpenApiParameter("match_status", str),
            OpenApiParameter("limit", int, description="page size, 1-100 (default 20)"),
        ],
        responses=SongSerializer(many=True),
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One song", responses=SongSerializer)
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Search songs",
        description=(
            "Ranks songs by relevance over title, artist names and album. Case and accent "
            "insensitive, prefix matching as you type, typo tolerant (one edit in words of 5+ "
            "letters, two in 9+), word order free; an exact title ranks first."
        ),
        parameters=[
            OpenApiParameter("q", str, required=True, description="1-200 characters"),
            *FILTER_PARAMS,
            OpenApiParameter("limit", int, description="1-100 (default 20)"),
            OpenApiParameter("offset", int, description="0-500 (SEARCH_CANDIDATE_CAP), default 0"),
        ],
        responses=SearchResponseSerializer,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def search(self, request: Request) -> Response:
        params = _validated(SongSearchInputSerializer, request)
        filters = SearchFilters(
            artist=params.get("artist"),
            album=params.get("album"),
            year_min=params.get("year_min"),
            year_max=params.get("year_max"),
            explicit=params.get("explicit"),
            has_spotify_id=params.get("has_spotify_id"),
        )
        result = song_search(
            query=params["q"], filters=filters, limit=params["limit"], offset=params["offset"]
        )
        body = {
            "query": {
                "q": params["q"],
                "normalized": result.normalized,
                "terms": result.terms,
                "filters": filters.as_dict(),
            },
            "total": result.total,
            "total_is_exact": result.total_is_exact,
            "has_more": params["offset"] + len(result.results) < result.total
            or not result.total_is_exact,
            "limit": params["limit"],
            "offset": params["offset"],
            "took_ms": result.took_ms,
            "results": result.results,
        }
        return Response(SearchResponseSerializer(body).data)
