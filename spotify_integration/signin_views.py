"""Signing in: Encore's own login page (username and password, or Spotify), sign-out, and the
end of Spotify's callback (shared by connecting and signing in).

The login page is Django's LoginView with our template at ``/accounts/login/`` (LOGIN_URL):
``@login_required`` pages send people here, not to the admin's login. Signing in lands on
``/spotify/`` (LOGIN_REDIRECT_URL) or the safe ``next``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.throttling import ScopedRateThrottle
from spotify_integration.client import spotify_configured
from spotify_integration.ratelimit import spotify_paused_for
from spotify_integration.services.oauth import OAuthOutcome, oauth_start_signin
from spotify_integration.services.profile import PROFILE_FETCH_KIND
from sync.services.jobs import job_create

NEXT_SESSION_KEY = "spotify_signin_next"


class EncoreLoginView(LoginView):
    """Username and password, with a "Sign in with Spotify" link when Spotify is configured."""

    template_name = "spotify_integration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["spotify_configured"] = spotify_configured()
        return context


class EncoreLogoutView(LogoutView):
    """POST signs out and returns to the login page (GET is refused: Django's rule)."""

    next_page = "spotify:login"


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


class SpotifySignInStartView(APIView):
    """GET redirects the browser to Spotify to sign in with the Spotify account.

    ``next`` (a path on this site) is where the user lands after signing in. A signed-in
    user goes straight to /spotify/.
    """

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "spotify_connect"

    @extend_schema(responses={302: OpenApiResponse(description="Redirect to Spotify")})
    def get(self, request: Request) -> HttpResponse:
        django_request = request._request
        if request.user.is_authenticated:
            return HttpResponseRedirect(reverse("library:page"))
        session = django_request.session
        next_url = _safe_next(django_request, request.query_params.get("next"))
        if next_url:
            session[NEXT_SESSION_KEY] = next_url
        else:
            session.pop(NEXT_SESSION_KEY, None)
        if not session.session_key:
            session.cycle_key()
        try:
            url = oauth_start_signin(session_key=str(session.session_key))
        except ApplicationError as exc:
            return render(
                django_request,
                "spotify_integration/login.html",
                {"form": AuthenticationForm(), "signin_error": exc},
                status=exc.http_status,
            )
        return HttpResponseRedirect(url)


def callback_finish(request: HttpRequest, outcome: OAuthOutcome) -> HttpResponse:
    """After a successful callback: sign the user in (sign-in), or enqueue the profile job
    (a connect stored during a pause), and say so on the page the user lands on."""
    connection = outcome.connection
    user = get_user_model().objects.get(pk=outcome.user_id)
    if outcome.purpose == "signin":
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        name = connection.display_name or connection.account_id
        messages.success(
            request,
            f"Signed in with Spotify as {name}."
            + (" Your Encore account was created." if outcome.created_user else ""),
        )
        target = _safe_next(request, request.session.pop(NEXT_SESSION_KEY, None))
        return HttpResponseRedirect(target or reverse("library:page"))
    if outcome.profile_pending:
        job_create(kind=PROFILE_FETCH_KIND, params={}, trigger="api", target_user=user)
        wait = spotify_paused_for()
        messages.info(
            request,
            "Spotify is connected. Spotify asked Encore to pause"
            + (f" for {wait} s" if wait else "")
            + "; your Spotify profile is read as soon as the pause ends.",
        )
    else:
        name = connection.display_name or connection.account_id
        messages.success(request, f"Spotify account {name} is connected.")
    return HttpResponseRedirect(reverse("library:page"))
