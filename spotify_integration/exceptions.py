"""Spotify error codes: every failure of the integration surfaces as one of these.

Nothing outside ``spotify_integration.client`` ever sees a spotipy or requests exception; the
client turns each of them into a subclass of :class:`SpotifyError` (or of the project-wide
:class:`core.exceptions.RateLimited`). Messages are fixed, human-readable text: they never
carry a token, an authorization code or a response body.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status

from core.exceptions import ApplicationError, RateLimited


class SpotifyError(ApplicationError):
    """Base of every Spotify failure that is not a rate limit."""

    code = "spotify_error"
    http_status: int = status.HTTP_502_BAD_GATEWAY
    default_message = "Spotify could not complete the request."


class SpotifyNotConfigured(SpotifyError):
    code = "spotify_not_configured"
    http_status = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET."


class SpotifyRateLimited(RateLimited):
    """Spotify (or our shared budget for it) says wait ``retry_after`` seconds. Never slept on."""

    code = "spotify_rate_limited"
    default_message = "Spotify's rate limit is reached; try again later."


class SpotifyRefreshesPaused(SpotifyRateLimited):
    """Token refreshes are paused after an invalid_grant storm (spotify_integration.refresh_guard):
    wait ``retry_after`` seconds. The connection keeps its tokens."""

    code = "spotify_refreshes_paused"
    default_message = (
        "Spotify is refusing many connections at once; Encore paused token refreshes and "
        "keeps your connection. Try again later."
    )


class SpotifyUnavailable(SpotifyError):
    """5xx, timeouts and network errors that outlived the bounded retries. Transient."""

    code = "spotify_unavailable"
    http_status = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = "Spotify is unavailable right now; try again later."
    transient = True  # sync jobs retry it with backoff (sync.services.runner)


class SpotifyNotFound(SpotifyError):
    code = "spotify_not_found"
    http_status = status.HTTP_404_NOT_FOUND
    default_message = "Spotify has no such item."


class SpotifyForbidden(SpotifyError):
    """A 403 that is neither a missing scope nor the app's mode (e.g. someone else's playlist)."""

    code = "spotify_forbidden"
    http_status = status.HTTP_403_FORBIDDEN
    default_message = "Spotify refused access to this item."


class SpotifyForbiddenByScope(SpotifyForbidden):
    code = "spotify_forbidden_by_scope"
    default_message = "The Spotify connection lacks a permission (scope) this needs."


class SpotifyForbiddenByAppMode(SpotifyForbidden):
    """The endpoint is not available to this app (development mode, or Spotify removed it)."""

    code = "spotify_forbidden_by_app_mode"
    default_message = "This Spotify feature is not available to this app's mode."


class SpotifyBadRequest(SpotifyError):
    """Spotify rejected our request as malformed: a bug on our side, not transient."""

    code = "spotify_bad_request"
    default_message = "Spotify rejected the request."


class SpotifyAppUnauthorized(SpotifyError):
    """The app's own credentials were refused (client id/secret wrong or app disabled)."""

    code = "spotify_app_unauthorized"
    http_status = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = "Spotify refused this app's credentials."


class _SpotifyConnectionProblem(SpotifyError):
    """403s about the user's connection: they carry the URL to connect (again)."""

    http_status = status.HTTP_403_FORBIDDEN

    def __init__(
        self,
        message: str | None = None,
        *,
        reconnect_url: str = "/api/spotify/connect/",
        missing_scopes: list[str] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"reconnect_url": reconnect_url}
        if missing_scopes is not None:
            payload["missing_scopes"] = missing_scopes
        payload.update(detail or {})
        super().__init__(message, detail=payload)
        self.reconnect_url = reconnect_url
        self.missing_scopes = missing_scopes or []


class SpotifyNotConnected(_SpotifyConnectionProblem):
    code = "spotify_not_connected"
    default_message = "Connect your Spotify account first."


class SpotifyReauthRequired(_SpotifyConnectionProblem):
    """Permanent until the user connects again (``invalid_grant``: revoked or 6 months old)."""

    code = "spotify_reauth_required"
    default_message = "Spotify no longer accepts this connection; connect your account again."


class SpotifyMissingScopes(_SpotifyConnectionProblem):
    code = "spotify_scope_missing"
    default_message = "Your Spotify connection lacks permissions; connect your account again."


# --- The OAuth callback --------------------------------------------------------------------


class SpotifyStateInvalid(SpotifyError):
    """The callback's ``state`` is missing, unknown, used, expired or from another session."""

    code = "spotify_state_invalid"
    http_status = status.HTTP_400_BAD_REQUEST
    default_message = "state: this Spotify authorization link is invalid or expired; start again."


class SpotifyAccessDenied(SpotifyError):
    code = "spotify_access_denied"
    http_status = status.HTTP_400_BAD_REQUEST
    default_message = "You declined the Spotify authorization; nothing was connected."


class SpotifyAuthorizationFailed(SpotifyError):
    """Spotify's authorize or token step failed for a reason other than the user declining."""

    code = "spotify_authorization_failed"
    http_status = status.HTTP_400_BAD_REQUEST
    default_message = "Spotify did not complete the authorization; start again."


class SpotifyAccountLinkedElsewhere(SpotifyError):
    code = "spotify_account_linked_to_another_user"
    http_status = status.HTTP_409_CONFLICT
    default_message = "This Spotify account is already connected to another Encore user."


class SpotifySignInRefused(SpotifyError):
    """Signing in with Spotify found no Encore user to sign in (and sign-ups are off), or the
    user may not sign in this way (inactive, or staff: staff use their password)."""

    code = "spotify_sign_in_refused"
    http_status = status.HTTP_403_FORBIDDEN
    default_message = (
        "No Encore account is linked to this Spotify account. Sign in with your username and "
        "password, then connect Spotify on your page."
    )


class TokenUndecryptable(SpotifyError):
    """No key in TOKEN_ENCRYPTION_KEYS opens a stored token (a key was removed too early)."""

    code = "token_undecryptable"
    http_status = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_message = "A stored Spotify token cannot be decrypted with the configured keys."
