"""Signing in with Spotify: the Encore user is the one whose connection holds the account.

The PKCE flow is the connect flow's (services.oauth); only the end differs. The user is found
by Spotify's ``account_id`` (unique across connections, so one Spotify account signs in one
Encore user, never a second). With no such user, ``SPOTIFY_SIGNUP_ENABLED`` decides: a new
user is created, with no usable password (they sign in with Spotify), or the sign-in is
refused. Staff and inactive users are refused: staff sign in with their password.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from spotify_integration.exceptions import SpotifySignInRefused
from spotify_integration.models import SpotifyConnection
from spotify_integration.services.connections import connection_upsert, profile_fields

if TYPE_CHECKING:
    from spotify_integration.client.accounts import TokenGrant

logger = logging.getLogger("encore.spotify")

USERNAME_PREFIX = "spotify-"


@dataclass(frozen=True)
class SignedIn:
    connection: SpotifyConnection
    created_user: bool


def username_for(account_id: str) -> str:
    """A free username for a new user signed up by Spotify: ``spotify-<account id>``."""
    base = (USERNAME_PREFIX + re.sub(r"[^\w.@+-]", "", account_id))[:140]
    model = get_user_model()
    candidate, n = base, 1
    while model.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@sensitive_variables("grant")
def signin_with_spotify(*, profile: dict[str, Any], grant: TokenGrant) -> SignedIn:
    """The user to sign in for the Spotify account of ``profile``; their connection is renewed
    with ``grant``. Raises SpotifySignInRefused (403) when no user may be signed in."""
    account_id = profile_fields(profile)["account_id"]  # refuses a profile without one
    existing = (
        SpotifyConnection.objects.select_related("user").filter(account_id=account_id).first()
    )
    if existing is not None:
        user = existing.user
        if not user.is_active or user.is_staff:
            logger.warning(
                "Spotify sign-in refused for user %s (%s)",
                user.pk,
                "inactive" if not user.is_active else "staff",
                extra={"user_id": user.pk},
            )
            raise SpotifySignInRefused(
                "This Encore account cannot sign in with Spotify; sign in with your password.",
                detail={"reason": "inactive" if not user.is_active else "staff"},
            )
        connection = connection_upsert(user_id=user.pk, profile=profile, grant=grant)
        logger.info("Spotify sign-in of user %s", user.pk, extra={"user_id": user.pk})
        return SignedIn(connection=connection, created_user=False)
    if not settings.SPOTIFY_SIGNUP_ENABLED:
        raise SpotifySignInRefused(detail={"reason": "no_linked_user"})
    with transaction.atomic():
        user = get_user_model()(username=username_for(account_id))
        user.set_unusable_password()
        user.save()
        connection = connection_upsert(user_id=user.pk, profile=profile, grant=grant)
    logger.info("Spotify sign-up: user %s created", user.pk, extra={"user_id": user.pk})
    return SignedIn(connection=connection, created_user=True)
