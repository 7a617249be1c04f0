"""Connecting: the PKCE pair, and the one-time state the callback spends."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlparse

import pytest

from spotify_integration.exceptions import SpotifyStateInvalid
from spotify_integration.services import oauth
from tests.spotify_integration.factories import SpotifyConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db


def _state_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_pkce_pair_is_a_verifier_and_its_s256_challenge():
    verifier, challenge = oauth.pkce_pair()
    assert len(verifier) == 86
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    assert challenge == digest.rstrip("=")
    assert oauth.pkce_pair()[0] != verifier


def test_a_state_is_bound_to_its_session_and_spent_once(spotify):
    user = UserFactory()
    params = _state_of(oauth.oauth_start(user=user, session_key="session-1"))
    with pytest.raises(SpotifyStateInvalid) as other:
        oauth.oauth_complete(
            user=user, session_key="session-2", state=params["state"], code="c", error=None
        )
    assert other.value.detail == {"state": "other_session"}
    with pytest.raises(SpotifyStateInvalid) as spent:
        oauth.oauth_complete(
            user=user, session_key="session-1", state=params["state"], code="c", error=None
        )
    assert spent.value.detail == {"state": "unknown_or_used"}
    assert not spotify.rsps.calls  # refused before reaching Spotify


def test_a_state_expires_after_ten_minutes(spotify, monkeypatch):
    user = UserFactory()
    params = _state_of(oauth.oauth_start(user=user, session_key="s"))
    real_now = oauth.now
    monkeypatch.setattr(oauth, "now", lambda: real_now() + oauth.OAUTH_STATE_TTL_SECONDS + 1)
    with pytest.raises(SpotifyStateInvalid) as exc:
        oauth.oauth_complete(
            user=user, session_key="s", state=params["state"], code="c", error=None
        )
    assert exc.value.detail == {"state": "expired"}


def test_a_connected_user_gets_the_account_chooser():
    conn = SpotifyConnectionFactory()
    assert _state_of(oauth.oauth_start(user=conn.user, session_key="s"))["show_dialog"] == "true"
    assert "show_dialog" not in _state_of(oauth.oauth_start(user=UserFactory(), session_key="s"))
