"""The token vault: encryption at rest, the derived default key, and key rotation."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from spotify_integration import vault
from spotify_integration.exceptions import TokenUndecryptable
from spotify_integration.models import SpotifyConnection
from spotify_integration.vault import token_decrypt, token_encrypt
from tests.spotify_integration.factories import UserFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_tokens_are_stored_encrypted(user, make_connection):
    conn = make_connection(user)
    row = SpotifyConnection.objects.values("access_token_encrypted", "refresh_token_encrypted").get(
        pk=conn.pk
    )
    plain = token_decrypt(ciphertext=row["access_token_encrypted"])
    assert plain.startswith("access-")
    assert plain not in row["access_token_encrypted"]
    assert row["access_token_encrypted"].startswith("gAAAAA")  # a Fernet token


def test_repr_and_str_never_show_tokens(user, make_connection):
    conn = make_connection(user)
    access = token_decrypt(ciphertext=conn.access_token_encrypted)
    for text in (repr(conn), str(conn)):
        assert access not in text and conn.access_token_encrypted not in text


@override_settings(TOKEN_ENCRYPTION_KEYS=[])
def test_embedded_default_derives_a_key_from_secret_key_and_warns(caplog):
    vault.derived_key_warning_reset()
    with caplog.at_level(logging.WARNING, logger="spotify_integration.vault"):
        ciphertext = token_encrypt(plaintext="hello")
    assert token_decrypt(ciphertext=ciphertext) == "hello"
    assert any("TOKEN_ENCRYPTION_KEYS is not set" in r.getMessage() for r in caplog.records)
    with override_settings(SECRET_KEY="another-secret"), pytest.raises(TokenUndecryptable):
        token_decrypt(ciphertext=ciphertext)


@override_settings(TOKEN_ENCRYPTION_KEYS=["not-a-fernet-key"])
def test_a_bad_key_fails_loudly_without_showing_it():
    with pytest.raises(ImproperlyConfigured) as exc:
        token_encrypt(plaintext="x")
    assert "not-a-fernet-key" not in str(exc.value)
    assert "entry 1" in str(exc.value)


def test_key_rotation_end_to_end(user, make_connection):
    # Given tokens written under the old key
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        conn = make_connection(user)
        other = make_connection(UserFactory(username="b"), account_id="acct2")
        access = token_decrypt(ciphertext=conn.access_token_encrypted)
        refresh = token_decrypt(ciphertext=conn.refresh_token_encrypted)

    # When a new key is put first, old tokens still read
    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        conn.refresh_from_db()
        assert token_decrypt(ciphertext=conn.access_token_encrypted) == access
        # Without rotation, dropping the old key would lose them
        with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]), pytest.raises(TokenUndecryptable):
            token_decrypt(ciphertext=conn.access_token_encrypted)
        call_command("rotate_token_keys")
        # Running it again rewrites nothing
        from io import StringIO

        out = StringIO()
        call_command("rotate_token_keys", stdout=out)
        assert "Re-encrypted 0 connection(s); 2 already under the first key" in out.getvalue()

    # Then the old key can be removed
    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]):
        conn.refresh_from_db()
        other.refresh_from_db()
        assert token_decrypt(ciphertext=conn.access_token_encrypted) == access
        assert token_decrypt(ciphertext=conn.refresh_token_encrypted) == refresh
        token_decrypt(ciphertext=other.refresh_token_encrypted)


def test_rotation_refuses_when_a_needed_key_is_already_gone(user, make_connection):
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        make_connection(user)
    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]), pytest.raises(CommandError) as exc:
        call_command("rotate_token_keys")
    assert "Put the old key back" in str(exc.value)
    assert OLD_KEY not in str(exc.value)
