"""factory_boy factories for the rows the Spotify tests need."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.vault import token_encrypt
from tests.spotify_integration.fakes import ALL_SCOPES, secret


class UserFactory(DjangoModelFactory):
    class Meta:
        model = settings.AUTH_USER_MODEL
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user-{n}")
    password = Password("pw-user-1")


class SpotifyConnectionFactory(DjangoModelFactory):
    """An active connection as a completed OAuth flow leaves it. Its token values are issued
    through ``secret`` (so the leak checks know them) and stored encrypted, as the service does."""

    class Meta:
        model = SpotifyConnection

    user = factory.SubFactory(UserFactory)
    account_id = factory.Sequence(lambda n: f"acct{n}")
    spotify_user_id = factory.LazyAttribute(lambda o: f"user-{o.account_id}")
    display_name = "Listener"
    granted_scopes = factory.LazyFunction(lambda: list(ALL_SCOPES))
    access_token_encrypted = factory.LazyFunction(lambda: token_encrypt(plaintext=secret("access")))
    refresh_token_encrypted = factory.LazyFunction(
        lambda: token_encrypt(plaintext=secret("refresh"))
    )
    access_token_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    authorized_at = factory.LazyFunction(timezone.now)
    status = ConnectionStatus.ACTIVE
