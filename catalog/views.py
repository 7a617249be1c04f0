"""The catalog's REST API: a thin layer over catalog.hybrid and catalog.selectors."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors
from catalog.hybrid import default_mode, hybrid_response_data, hybrid_search, server_timing
from catalog.models import MatchStatus
from catalog.search import SearchFilters
from catalog.serializers import (
    MAX_QUERY,
    SearchResponseSerializer,
    SongListInputSerializer,
    SongSearchInputSerializer,
    SongSerializer,
)
from core.pagination import StrictCursorPagination
from core.serializers import enum_schema, int_schema, text_schema

# Types with their bounds: the schema states what the serializers accept (schemathesis reads it).
FILTER_PARAMS = [
    OpenApiParameter(
        "artist", text_schema(MAX_QUERY), description="artist name contains (accents ignored)"
    ),
    OpenApiParameter(
        "album", text_schema(MAX_QUERY), description="album title contains (accents ignored)"
    ),
    OpenApiParameter(
        "year_min", int_schema(1000, 2100), description="released in or after this year"
    ),
    OpenApiParameter(
        "year_max", int_schema(1000, 2100), description="released in or before this year"
    ),
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
            OpenApiParameter("match_status", enum_schema(MatchStatus.values)),
            OpenApiParameter(
                "limit", int_schema(1, 100), description="page size, 1-100 (default 20)"
            ),
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
            "insensitive, every word a prefix as you type, typo tolerant (one edit in words of "
            "5+ letters, two from 8, real words too), names with symbols found without them "
            "(`acdc`, `pink`), word order free, a word matching nothing left out; an exact "
            "title ranks first. `query` shows what was understood. With "
            "`spotify=auto|always` Spotify's results join the first page, merged and "
            "deduplicated by recording; `sources` says what each source did, and Spotify "
            "failing never fails the request (docs/search.md, Hybrid search)."
        ),
        parameters=[
            OpenApiParameter(
                "q", text_schema(MAX_QUERY), required=True, description="1-200 characters"
            ),
            OpenApiParameter(
                "spotify",
                str,
                enum=["auto", "always", "never"],
                description="ask Spotify: auto (when the catalog finds few songs or no exact "
                "title), always, never; default auto when Spotify is configured, else never",
            ),
            *FILTER_PARAMS,
            OpenApiParameter("limit", int_schema(1, 100), description="1-100 (default 20)"),
            OpenApiParameter(
                "offset",
                int_schema(0, settings.SEARCH_CANDIDATE_CAP),
                description="0-500 (SEARCH_CANDIDATE_CAP), default 0",
            ),
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
        result = hybrid_search(
            query=params["q"],
            filters=filters,
            limit=params["limit"],
            offset=params["offset"],
            spotify=params.get("spotify") or default_mode(),
        )
        response = Response(hybrid_response_data(result))
        response["Server-Timing"] = server_timing(result)
        return response
