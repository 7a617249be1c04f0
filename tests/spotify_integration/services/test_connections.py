"""Connections: the token store the client is given, upsert, needs-reauth and disconnect."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from library.models import Play
from spotify_integration.client import TokenGrant, TokenStore
from spotify_integration.exceptions import (
    SpotifyAccountLinkedElsewhere,
    SpotifyAuthorizationFailed,
    SpotifyNotConnected,
    SpotifyReauthRequired,
)
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.services.connections import (
    ConnectionTokenStore,
    connection_delete,
    connection_mark_needs_reauth,
    connection_upsert,
)
from spotify_integration.vault import token_decrypt
from tests.spotify_integration.factories import SpotifyConnectionFactory, UserFactory
from tests.spotify_integration.fakes import ALL_SCOPES, me_body, secret

pytestmark = pytest.mark.django_db


def _grant(scopes: list[str] | None = None) -> TokenGrant:
    return TokenGrant(
        access_token=secret("access"),
        refresh_token=secret("refresh"),
        expires_at=datetime.now(tz=UTC) + timedelta(hours=1),
        scopes=ALL_SCOPES if scopes is None else scopes,
    )


def test_the_store_reads_the_row_as_token_info():
    conn = SpotifyConnectionFactory()
    store: TokenStore = ConnectionTokenStore()  # what the client is given
    info = store.tokens_read(connection_id=conn.pk)
    assert info["access_token"] == token_decrypt(ciphertext=conn.access_token_encrypted)
    assert info["refresh_token"] == token_decrypt(ciphertext=conn.refresh_token_encrypted)
    assert abs(info["expires_at"] - (time.time() + 3600)) < 60
    assert info["scope"].split() == ALL_SCOPES and info["token_type"] == "Bearer"


def test_the_store_refuses_a_missing_or_retired_connection():
    store = ConnectionTokenStore()
    with pytest.raises(SpotifyNotConnected):
        store.tokens_read(connection_id=987654)
    conn = SpotifyConnectionFactory()
    store.mark_needs_reauth(connection_id=conn.pk, reason="invalid_grant")
    with pytest.raises(SpotifyReauthRequired):
        store.tokens_read(connection_id=conn.pk)
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NEEDS_REAUTH and conn.last_error == "invalid_grant"
    # The refused refresh token's ciphertext stays until a reconnect or disconnect, so that
    # an invalid_grant storm can restore the connection (tests/.../test_refresh_storm.py).
    assert conn.access_token_encrypted == "" and conn.refresh_token_encrypted != ""


def test_the_store_saves_a_refresh_keeping_the_old_refresh_token():
    conn = SpotifyConnectionFactory()
    old_refresh = token_decrypt(ciphertext=conn.refresh_token_encrypted)
    new_access = secret("access")
    ConnectionTokenStore().tokens_save(
        connection_id=conn.pk,
        token_info={"access_token": new_access, "expires_at": int(time.time()) + 3600},
    )
    conn.refresh_from_db()
    assert token_decrypt(ciphertext=conn.access_token_encrypted) == new_access
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == old_refresh
    assert conn.last_refreshed_at is not None


def test_a_refresh_is_not_saved_on_a_retired_connection():
    conn = SpotifyConnectionFactory()
    connection_mark_needs_reauth(connection_id=conn.pk, reason="revoked")
    ConnectionTokenStore().tokens_save(
        connection_id=conn.pk,
        token_info={"access_token": secret("access"), "expires_at": int(time.time()) + 3600},
    )
    conn.refresh_from_db()
    assert conn.access_token_encrypted == "" and conn.status == ConnectionStatus.NEEDS_REAUTH


def test_upsert_stores_encrypted_tokens_keyed_by_account_id():
    user = UserFactory()
    grant = _grant()
    conn = connection_upsert(user_id=user.pk, profile=me_body("acct-9", "Brian"), grant=grant)
    assert conn.account_id == "acct-9" and conn.display_name == "Brian"
    assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == grant.refresh_token
    assert grant.refresh_token not in repr(grant) and grant.access_token not in repr(grant)


def test_upsert_refuses_a_profile_without_account_id_and_an_account_linked_elsewhere():
    with pytest.raises(SpotifyAuthorizationFailed):
        connection_upsert(user_id=UserFactory().pk, profile={"id": "x"}, grant=_grant())
    SpotifyConnectionFactory(account_id="acct-1")
    with pytest.raises(SpotifyAccountLinkedElsewhere):
        connection_upsert(user_id=UserFactory().pk, profile=me_body("acct-1"), grant=_grant())
    assert SpotifyConnection.objects.count() == 1


def test_disconnect_with_purge_reports_only_the_connection():
    conn = SpotifyConnectionFactory()
    assert connection_delete(user=conn.user, purge=True) == {"connections": 1}
    assert connection_delete(user=conn.user, purge=True) == {"connections": 0}
    assert not SpotifyConnection.objects.exists()


def test_connecting_another_spotify_account_replaces_the_connection_and_its_library():
    user = UserFactory()
    old = SpotifyConnectionFactory(user=user, account_id="acct-old")
    Play.objects.create(connection=old, played_at=timezone.now(), track_id="4u7EnebtmKWzUH433cf5Qv")
    # The same account again keeps the row and its plays
    same = connection_upsert(user_id=user.pk, profile=me_body("acct-old"), grant=_grant())
    assert same.pk == old.pk and Play.objects.filter(connection=old).count() == 1
    # Another account: the old account's plays are not this account's
    new = connection_upsert(user_id=user.pk, profile=me_body("acct-new"), grant=_grant())
    assert new.pk != old.pk and new.account_id == "acct-new"
    assert not SpotifyConnection.objects.filter(pk=old.pk).exists()
    assert not Play.objects.exists()
