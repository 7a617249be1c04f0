"""The Spotify API endpoints: thin views over services and selectors."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.throttling import ScopedRateThrottle
from spotify_integration import selectors
from spotify_integration.serializers import (
    AuthorizeUrlOutputSerializer,
    CallbackInputSerializer,
    ConnectionStatusOutputSerializer,
    DisconnectInputSerializer,
    DisconnectOutputSerializer,
)
from spotify_integration.services.connections import connection_delete
from spotify_integration.services.oauth import oauth_complete, oauth_start
from spotify_integration.signin_views import callback_finish


def _session_key(request: Request) -> str:
    """The session key the OAuth state is bound to, creating the session if needed.

    API clients authenticating with a DRF token get a session cookie from this response; the
    browser that completes the authorization must present it at the callback.
    """
    session = request.session
    if not session.session_key:
        session.cycle_key()  # creates and saves a session, marks it modified (cookie is set)
    key = session.session_key
    if not key:  # pragma: no cover - cycle_key() always creates one
        raise RuntimeError("the session backend created no session key")
    return key


def _signed_in(request: Request) -> AbstractBaseUser:
    """The signed-in user of a view whose permission class already requires one."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):  # pragma: no cover - IsAuthenticated ran first
        raise PermissionDenied
    return user


class SpotifyConnectApi(APIView):
    """Start connecting (or reconnecting) the user's Spotify account.

    POST returns the authorize URL; GET redirects a browser to it.
    """

    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "spotify_connect"
    error_responses = {503: "Spotify is not configured on this server (`spotify_not_configured`)."}

    @extend_schema(request=None, responses={200: AuthorizeUrlOutputSerializer})
    def post(self, request: Request) -> Response:
        url = oauth_start(user=_signed_in(request), session_key=_session_key(request))
        return Response(AuthorizeUrlOutputSerializer({"authorize_url": url}).data)

    @extend_schema(responses={302: OpenApiResponse(description="Redirect to Spotify")})
    def get(self, request: Request) -> HttpResponse:
        url = oauth_start(user=_signed_in(request), session_key=_session_key(request))
        return HttpResponseRedirect(url)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


class SpotifyCallbackApi(APIView):
    """Spotify redirects the browser here after the user's decision (a connect or a sign-in).

    Success stores the connection (and, for a sign-in, signs the user in) and redirects to
    the /spotify/ page (or the sign-in's ``next``), which shows the result. A connect that
    completes while Spotify is paused is stored with its profile pending and the profile job
    is enqueued. Any refusal answers 400 (409 when the Spotify account belongs to another
    user, 403 when a sign-in finds no user) and stores nothing: an HTML page for browsers,
    the JSON error body for API clients.
    """

    permission_classes = [AllowAny]  # the state, bound to the session, identifies the user
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "spotify_callback"
    error_responses = {
        400: "Refused: the state is missing, expired or another session's, the user denied "
        "access, or Spotify refused the code. Nothing is stored.",
        403: "A sign-in with Spotify found no Encore user for the account and sign-ups are "
        "off, or the user must sign in with a password (`spotify_sign_in_refused`).",
        409: "The Spotify account is connected to another Encore user (`spotify_account_linked"
        "_elsewhere`).",
        502: "Spotify answered with an error.",
        503: "Spotify is unreachable or not configured here, or refuses this app's credentials.",
    }

    @extend_schema(
        parameters=[CallbackInputSerializer],
        responses={302: OpenApiResponse(description="Redirect to the /spotify/ page")},
    )
    def get(self, request: Request) -> HttpResponse:
        try:
            params = CallbackInputSerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            outcome = oauth_complete(
                user=request.user,
                session_key=request.session.session_key,
                state=params.validated_data.get("state"),
                code=params.validated_data.get("code"),
                error=params.validated_data.get("error"),
            )
        except ApplicationError as exc:
            if not _wants_html(request):
                raise
            return render(
                request._request,
                "spotify_integration/callback_error.html",
                {"error": exc},
                status=exc.http_status,
            )
        return callback_finish(request._request, outcome)


class SpotifyStatusApi(APIView):
    """Connected or not, ids, scopes granted and missing, status, token expiries, last error."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ConnectionStatusOutputSerializer})
    def get(self, request: Request) -> Response:
        data = selectors.connection_status(user=_signed_in(request))
        return Response(ConnectionStatusOutputSerializer(data).data)


class SpotifyConnectionApi(APIView):
    """DELETE disconnects (idempotent): erases the tokens and deletes the connection.

    The user's library (playlists, items, plays, gaps, sync state) hangs off the connection
    and is deleted with it in any case; ``?purge=true`` also reports those deletions by model
    in ``deleted``.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[DisconnectInputSerializer], responses={200: DisconnectOutputSerializer}
    )
    def delete(self, request: Request) -> Response:
        params = DisconnectInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        deleted = connection_delete(user=_signed_in(request), purge=params.validated_data["purge"])
        return Response(
            DisconnectOutputSerializer({"deleted": deleted}).data, status=status.HTTP_200_OK
        )
