"""The signed-in user's own library: /api/spotify/me/... Read from the database, never from
Spotify; every query starts at the caller's own connection, so nobody reads another's rows."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.pagination import StrictCursorPagination, StrictLimitOffsetPagination
from core.throttling import ScopedRateThrottle
from library import selectors
from library.exceptions import UploadTooLarge
from library.serializers import (
    GapFilterSerializer,
    GapSerializer,
    HistoryUploadInputSerializer,
    LibrarySyncJobSerializer,
    PlayFilterSerializer,
    PlaylistDetailSerializer,
    PlaylistItemSerializer,
    PlaylistSerializer,
    PlaySerializer,
    SyncRequestInputSerializer,
    SyncRequestOutputSerializer,
)
from library.services.history import import_history
from library.services.requests import PLAYLIST_SCOPES, PLAYS_SCOPES, request_sync
from spotify_integration.models import SpotifyConnection
from spotify_integration.permissions import HasSpotifyConnection

CONNECTION_PROBLEMS = (
    "Not connected (`spotify_not_connected`), the connection needs to be made again "
    "(`spotify_reauth_required`: refused by Spotify or past its 6 months) or lacks a "
    "permission (`spotify_scope_missing`, with `missing_scopes`); `detail.reconnect_url` "
    "is where to connect again."
)


class PagePagination(StrictLimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class PlayCursorPagination(StrictCursorPagination):
    """Newest first; ``cursor`` from ``next``/``previous``, ``limit`` 1-200 (default 50)."""

    ordering = ("-played_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"

    def check_position(self, position: object) -> None:
        if parse_datetime(str(position)) is None:
            raise ValueError(position)


def _connection(request: Request) -> SpotifyConnection:
    """The caller's connection, which ``HasSpotifyConnection`` checked and left here."""
    return cast(SpotifyConnection, request.spotify_connection)  # type: ignore[attr-defined]


class _MeApi(APIView):
    permission_classes = [IsAuthenticated, HasSpotifyConnection]
    error_responses = {403: CONNECTION_PROBLEMS}


@extend_schema(tags=["my library"])
class MyPlaylistsApi(_MeApi):
    """My playlists as the last sync stored them, in my order (limit/offset, 1-200)."""

    required_spotify_scopes = PLAYLIST_SCOPES
    pagination_class = PagePagination

    @extend_schema(responses={200: PlaylistSerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            selectors.playlists_of(_connection(request)), request, view=self
        )
        return paginator.get_paginated_response(PlaylistSerializer(page, many=True).data)


@extend_schema(tags=["my library"])
class MyPlaylistDetailApi(_MeApi):
    """One of my playlists (by its Spotify id) with a page of its items (limit/offset, 1-200).

    ``items_readable`` false: Spotify lets only owners and collaborators read a playlist's
    items, so a followed playlist has none stored.
    """

    required_spotify_scopes = PLAYLIST_SCOPES

    @extend_schema(
        parameters=[
            OpenApiParameter("spotify_id", str, OpenApiParameter.PATH, description="Spotify id"),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": PagePagination.max_limit},
                description="Items per page (default 50).",
            ),
            OpenApiParameter(
                "offset", {"type": "integer", "minimum": 0}, description="Items to skip."
            ),
        ],
        responses={200: PlaylistDetailSerializer},
    )
    def get(self, request: Request, spotify_id: str) -> Response:
        playlist = selectors.playlist_of(_connection(request), spotify_id=spotify_id)
        if playlist is None:
            raise NotFound("No playlist of yours has this id.")
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            selectors.playlist_items_of(playlist), request, view=self
        )
        data = dict(PlaylistSerializer(playlist).data)
        data["items"] = paginator.get_paginated_response(
            PlaylistItemSerializer(page, many=True).data
        ).data
        return Response(data)


@extend_schema(tags=["my library"])
class MyRecentlyPlayedApi(_MeApi):
    """My plays, newest first, by cursor (``next``/``previous``; ``limit`` 1-200, default 50).

    ``from`` (inclusive) and ``to`` (exclusive) are ISO 8601 date-times (a date alone is its
    midnight, in UTC); a bad one is a 400 naming it.
    """

    required_spotify_scopes = PLAYS_SCOPES
    pagination_class = PlayCursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="Plays at or after this (ISO 8601)."),
            OpenApiParameter("to", str, description="Plays before this (ISO 8601)."),
        ],
        responses={200: PlaySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        params = PlayFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        plays = selectors.plays_of(
            _connection(request),
            start=params.validated_data.get("from"),
            end=params.validated_data.get("to"),
        )
        paginator = PlayCursorPagination()
        page = paginator.paginate_queryset(plays, request, view=self)
        return paginator.get_paginated_response(PlaySerializer(page, many=True).data)


@extend_schema(tags=["my library"])
class MyGapsApi(_MeApi):
    """Spans in which plays may be missing (limit/offset, 1-200), newest first.

    A gap is recorded when a poll of Spotify's recently played list comes back full and its
    oldest play is newer than the newest one stored: Spotify keeps only the last 50, so plays
    in between may be lost. Uploading the streaming-history export fills them.
    """

    required_spotify_scopes = PLAYS_SCOPES
    pagination_class = PagePagination

    @extend_schema(parameters=[GapFilterSerializer], responses={200: GapSerializer(many=True)})
    def get(self, request: Request) -> Response:
        params = GapFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        gaps = selectors.gaps_of(_connection(request), open_only=params.validated_data["open"])
        paginator = PagePagination()
        page = paginator.paginate_queryset(gaps, request, view=self)
        return paginator.get_paginated_response(GapSerializer(page, many=True).data)


@extend_schema(tags=["my library"])
class MySyncApi(_MeApi):
    """POST starts a sync of my plays, playlists or both now; GET lists my last sync runs.

    POST answers 202 with the job(s). A kind already pending or running is not started
    twice: that job is returned with ``already_running`` true, so repeating is harmless.
    POST is limited per user (setting ``THROTTLE_SPOTIFY_ME_SYNC``).
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "spotify_me_sync"
    pagination_class = PagePagination
    # Scopes depend on ``what``: request_sync checks them (for the page and the admin too).
    required_spotify_scopes: list[str] = []
    error_responses = {
        403: CONNECTION_PROBLEMS,
        409: "Spotify cannot be synced now (`library_sync_unavailable`; `detail.reason`: "
        "needs_reauth, expired or paused, with `retry_after`).",
    }

    def get_throttles(self) -> list[BaseThrottle]:
        # Per user, on POST only: reading the runs is not limited.
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(responses={200: LibrarySyncJobSerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            selectors.sync_jobs_of(_connection(request)), request, view=self
        )
        return paginator.get_paginated_response(LibrarySyncJobSerializer(page, many=True).data)

    @extend_schema(
        request=SyncRequestInputSerializer,
        responses={202: SyncRequestOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        params = SyncRequestInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        what = params.validated_data["what"]
        connection = _connection(request)
        requests = request_sync(connection, what, triggered_by=cast(AbstractBaseUser, request.user))
        data = SyncRequestOutputSerializer(
            {"jobs": [r.job for r in requests]},
            context={"already_running": {r.job.pk for r in requests if r.already_active}},
        ).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["my library"])
class MyHistoryApi(_MeApi):
    """Upload Spotify's Extended streaming history export (multipart, field ``files``).

    The files are checked first (a bad one is a 400 naming it and the problem; nothing is
    imported then), then imported as plays by a background job returned here (202): plays
    already stored are not doubled and the gaps they cover are marked filled. The request is
    capped at ``LIBRARY_HISTORY_MAX_UPLOAD_BYTES`` (413 above it).
    """

    required_spotify_scopes = PLAYS_SCOPES
    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "spotify_me_history"
    error_responses = {
        403: CONNECTION_PROBLEMS,
        409: "An import of my history is already running (`history_import_running`).",
        413: "The upload is larger than the server accepts (`upload_too_large`).",
    }

    @extend_schema(
        request={"multipart/form-data": HistoryUploadInputSerializer},
        responses={202: LibrarySyncJobSerializer},
    )
    def post(self, request: Request) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.LIBRARY_HISTORY_MAX_UPLOAD_BYTES:
            raise UploadTooLarge()
        params = HistoryUploadInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job = import_history(
            _connection(request),
            params.validated_data["files"],
            triggered_by=cast(AbstractBaseUser, request.user),
        )
        return Response(LibrarySyncJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
