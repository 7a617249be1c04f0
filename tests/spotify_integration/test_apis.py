"""The connect / callback / status / disconnect endpoints, the permission class and the page."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from spotify_integration.models import ConnectionStatus, SpotifyConnection
from spotify_integration.permissions import HasSpotifyConnection
from spotify_integration.services import oauth
from spotify_integration.services.connections import connection_mark_needs_reauth
from tests.spotify_integration.factories import UserFactory
from tests.spotify_integration.fakes import (
    AUTHORIZE_URL,
    ISSUED_SECRETS,
    TOKEN_URL,
    error_body,
    me_body,
    secret,
    token_body,
)

CONNECT = "/api/spotify/connect/"
CALLBACK = "/api/spotify/callback/"
STATUS = "/api/spotify/status/"
CONNECTION = "/api/spotify/connection/"


def assert_no_secrets(response: Any) -> None:
    """No issued token value and no stored ciphertext in a response body or its headers."""
    body = response.content.decode(errors="replace") + json.dumps(dict(response.items()))
    for value in ISSUED_SECRETS:
        assert value not in body
    for row in SpotifyConnection.objects.values(
        "access_token_encrypted", "refresh_token_encrypted"
    ):
        for ciphertext in row.values():
            assert not ciphertext or ciphertext not in body
    assert "gAAAAA" not in body


@pytest.fixture
def browser(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def start(client: APIClient) -> dict[str, str]:
    response = client.post(CONNECT)
    assert response.status_code == 200, response.content
    url = response.json()["authorize_url"]
    assert url.startswith(AUTHORIZE_URL + "?")
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def pkce_checking_token_endpoint(spotify, challenge: str, body: dict[str, Any]) -> None:
    """A token endpoint that, like Spotify's, refuses a verifier not matching the challenge."""

    def exchange(request):
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        verifier = form.get("code_verifier", "")
        ISSUED_SECRETS.add(verifier)
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            form.get("grant_type") != "authorization_code"
            or expected.decode().rstrip("=") != challenge
        ):
            return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "bad"})
        return 200, {}, json.dumps(body)

    spotify.token_callback(exchange)


def nothing_stored() -> bool:
    return not SpotifyConnection.objects.exists()


# --- Connect -------------------------------------------------------------------------------


def test_connect_returns_an_authorize_url_with_pkce_and_state(browser):
    params = start(browser)
    assert params["response_type"] == "code"
    assert params["client_id"] == "test-client-id"
    assert params["redirect_uri"] == "http://127.0.0.1:8000/api/spotify/callback/"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43  # base64url(sha256) without padding
    assert set(params["scope"].split()) == {
        "user-read-private",
        "playlist-read-private",
        "playlist-read-collaborative",
        "user-read-recently-played",
    }
    assert len(params["state"]) >= 40
    assert start(browser)["state"] != params["state"]  # random per attempt


def test_connect_get_redirects_the_browser(browser):
    response = browser.get(CONNECT)
    assert response.status_code == 302
    assert response["Location"].startswith(AUTHORIZE_URL)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", CONNECT), ("get", "/api/spotify/status/"), ("delete", "/api/spotify/connection/")],
)
def test_anonymous_requests_get_401_with_a_challenge(api_client, db, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_connect_is_throttled(browser):
    codes = [browser.post(CONNECT).status_code for _ in range(21)]
    assert codes[:20] == [200] * 20
    assert codes[20] == 429


def test_token_authenticated_clients_get_a_session_to_bind_the_state(user):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.post(CONNECT)
    assert response.status_code == 200
    assert "sessionid" in response.cookies


# --- Callback: the refusals ----------------------------------------------------------------


def test_callback_success_stores_the_connection_and_shows_it(browser, user, spotify):
    # Given a started connect and a Spotify that checks the PKCE verifier
    params = start(browser)
    tokens = token_body()
    pkce_checking_token_endpoint(spotify, params["code_challenge"], tokens)
    spotify.api("GET", "/me", body=me_body("acct-1", "Freddie"))
    code = secret("code")

    # When Spotify redirects back
    response = browser.get(CALLBACK, {"state": params["state"], "code": code})

    # Then the connection is stored (keyed by account_id) and the page shows the result
    assert response.status_code == 302 and response["Location"] == "/spotify/"
    conn = SpotifyConnection.objects.get(user=user)
    assert conn.account_id == "acct-1" and conn.display_name == "Freddie"
    assert conn.spotify_user_id == "user-acct-1"
    assert conn.status == ConnectionStatus.ACTIVE
    form = spotify.token_calls("authorization_code")[0]
    assert form["code"] == [code]
    assert form["redirect_uri"] == ["http://127.0.0.1:8000/api/spotify/callback/"]
    assert "code_verifier" in form
    me_call = next(c for c in spotify.rsps.calls if c.request.url.endswith("/me"))
    assert me_call.request.headers["Authorization"] == f"Bearer {tokens['access_token']}"
    page = browser.get("/spotify/")
    assert page.status_code == 200
    assert b"Spotify account Freddie is connected." in page.content
    assert_no_secrets(response)
    assert_no_secrets(page)


def test_callback_with_a_wrong_verifier_is_refused(browser, spotify):
    params = start(browser)
    # Spotify checks the verifier against a different challenge: our exchange must fail.
    pkce_checking_token_endpoint(spotify, "x" * 43, token_body())
    response = browser.get(CALLBACK, {"state": params["state"], "code": secret("code")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "spotify_authorization_failed"
    assert nothing_stored()


def _refused(response, reason: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "spotify_state_invalid"
    assert error["message"].startswith("state:")
    # Like every 400: detail lists the messages per field (the reason is in the words).
    words = {"missing": "missing", "expired": "expired", "other_session": "issued to another"}
    message = error["message"].removeprefix("state: ")
    assert error["detail"] == {"state": [message]}
    assert words.get(reason, "not recognised") in message


def test_callback_without_state_is_refused(browser, spotify):
    start(browser)
    _refused(browser.get(CALLBACK, {"code": secret("code")}), "missing")
    assert nothing_stored() and not spotify.rsps.calls


def test_callback_with_a_tampered_state_is_refused(browser, spotify):
    params = start(browser)
    tampered = params["state"][:-2] + ("AA" if params["state"][-2:] != "AA" else "BB")
    _refused(browser.get(CALLBACK, {"state": tampered, "code": "c"}), "unknown_or_used")
    assert nothing_stored() and not spotify.rsps.calls


def test_callback_state_is_single_use(browser, spotify):
    params = start(browser)
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    spotify.api("GET", "/me", body=me_body())
    assert browser.get(CALLBACK, {"state": params["state"], "code": "c1"}).status_code == 302
    SpotifyConnection.objects.all().delete()
    token_calls = len(spotify.token_calls())

    _refused(browser.get(CALLBACK, {"state": params["state"], "code": "c2"}), "unknown_or_used")
    assert nothing_stored() and len(spotify.token_calls()) == token_calls


def test_callback_with_an_expired_state_is_refused(browser, spotify, monkeypatch):
    params = start(browser)
    real_now = oauth.now
    monkeypatch.setattr(oauth, "now", lambda: real_now() + 10 * 60 + 1)
    _refused(browser.get(CALLBACK, {"state": params["state"], "code": "c"}), "expired")
    assert nothing_stored() and not spotify.rsps.calls


def test_callback_from_another_session_is_refused(browser, user, spotify):
    params = start(browser)
    other_browser = APIClient()
    other_browser.force_login(user)  # same user, another session (e.g. an attacker's link)
    _refused(other_browser.get(CALLBACK, {"state": params["state"], "code": "c"}), "other_session")
    assert nothing_stored() and not spotify.rsps.calls
    # The state is spent even so: the original session cannot use it any more either.
    _refused(browser.get(CALLBACK, {"state": params["state"], "code": "c"}), "unknown_or_used")


def test_callback_without_any_session_is_refused(browser, spotify):
    params = start(browser)
    _refused(APIClient().get(CALLBACK, {"state": params["state"], "code": "c"}), "other_session")
    assert nothing_stored()


def test_callback_access_denied_has_a_clear_message(browser, spotify):
    params = start(browser)
    response = browser.get(CALLBACK, {"state": params["state"], "error": "access_denied"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "spotify_access_denied"
    assert "declined" in response.json()["error"]["message"]
    assert nothing_stored() and not spotify.rsps.calls


def test_callback_refusal_renders_a_page_for_browsers(browser, spotify):
    start(browser)
    response = browser.get(CALLBACK, {"code": "c"}, HTTP_ACCEPT="text/html,*/*")
    assert response.status_code == 400
    assert b"Spotify was not connected" in response.content


def test_callback_without_code_names_the_field(browser, spotify):
    params = start(browser)
    response = browser.get(CALLBACK, {"state": params["state"]})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("code:")
    assert nothing_stored()


def test_callback_with_an_oversized_parameter_is_a_400(browser):
    response = browser.get(CALLBACK, {"state": "s" * 500, "code": "c"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("state:")


def test_account_linked_to_another_user_is_refused(browser, spotify, make_connection):
    make_connection(UserFactory(username="someone-else"), account_id="acct-1")
    params = start(browser)
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    spotify.api("GET", "/me", body=me_body("acct-1"))
    response = browser.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "spotify_account_linked_to_another_user"
    assert SpotifyConnection.objects.count() == 1
    assert_no_secrets(response)


def test_reconnect_replaces_tokens_and_resets_needs_reauth(browser, user, spotify, make_connection):
    old = make_connection(user, account_id="acct-1")
    connection_mark_needs_reauth(connection_id=old.pk, reason="revoked")
    params = start(browser)
    assert params["show_dialog"] == "true"  # lets the user pick the account again
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    spotify.api("GET", "/me", body=me_body("acct-1"))
    assert browser.get(CALLBACK, {"state": params["state"], "code": "c"}).status_code == 302
    conn = SpotifyConnection.objects.get(user=user)
    assert conn.pk == old.pk and conn.status == ConnectionStatus.ACTIVE and conn.last_error == ""
    assert conn.authorized_at > old.authorized_at


def test_callback_is_throttled(browser, db):
    codes = [browser.get(CALLBACK).status_code for _ in range(21)]
    assert codes[:20] == [400] * 20 and codes[20] == 429


# --- Status and disconnect -----------------------------------------------------------------


def test_status_when_not_connected(browser):
    data = browser.get(STATUS).json()
    assert data["connected"] is False and data["status"] is None
    assert data["configured"] is True and data["app_mode"] == "development"
    assert len(data["missing_scopes"]) == 4
    assert data["reconnect_url"] == CONNECT


def test_status_when_connected_shows_expiries_and_missing_scopes(browser, user, make_connection):
    conn = make_connection(user, scopes=["user-read-private", "playlist-read-private"])
    response = browser.get(STATUS)
    data = response.json()
    assert data["connected"] is True and data["status"] == "active"
    assert data["account_id"] == conn.account_id and data["display_name"] == "Listener"
    assert data["missing_scopes"] == ["playlist-read-collaborative", "user-read-recently-played"]
    assert data["access_token_expires_at"] and data["authorized_at"]
    assert data["refresh_token_expires_at"] == conn.refresh_token_expires_at.isoformat().replace(
        "+00:00", "Z"
    )
    assert_no_secrets(response)


def test_disconnect_is_idempotent_and_purge_is_validated(browser, user, make_connection):
    make_connection(user)
    first = browser.delete(CONNECTION)
    assert first.status_code == 200 and first.json() == {"deleted": {"connections": 1}}
    again = browser.delete(CONNECTION)
    assert again.status_code == 200 and again.json() == {"deleted": {"connections": 0}}
    assert browser.delete(CONNECTION + "?purge=true").status_code == 200
    bad = browser.delete(CONNECTION + "?purge=banana")
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("purge:")


def test_disconnect_with_purge_deletes_the_users_spotify_data(browser, user, make_connection):
    make_connection(user)
    response = browser.delete(CONNECTION + "?purge=true")
    assert response.json()["deleted"]["connections"] == 1
    assert nothing_stored()


# --- The permission class ------------------------------------------------------------------


class NeedsSpotify(APIView):
    permission_classes = [HasSpotifyConnection]
    required_spotify_scopes = ["user-read-recently-played"]

    def get(self, request):
        return Response({"connection": request.spotify_connection.pk})


def _call_guarded(user) -> Response:
    request = APIRequestFactory().get("/guarded/")
    force_authenticate(request, user=user)
    return NeedsSpotify.as_view()(request)


def test_permission_not_connected(user):
    response = _call_guarded(user)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "spotify_not_connected"
    assert response.data["error"]["detail"]["reconnect_url"] == CONNECT


def test_permission_needs_reconnect(user, make_connection):
    conn = make_connection(user)
    connection_mark_needs_reauth(connection_id=conn.pk, reason="invalid_grant")
    response = _call_guarded(user)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "spotify_reconnect_required"
    assert response.data["error"]["detail"]["reconnect_url"] == CONNECT


def test_permission_missing_scopes(user, make_connection):
    make_connection(user, scopes=["user-read-private"])
    response = _call_guarded(user)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "spotify_missing_scopes"
    assert response.data["error"]["detail"]["missing_scopes"] == ["user-read-recently-played"]
    assert response.data["error"]["detail"]["reconnect_url"] == CONNECT


def test_permission_lets_a_good_connection_through(user, make_connection):
    conn = make_connection(user)
    response = _call_guarded(user)
    assert response.status_code == 200 and response.data == {"connection": conn.pk}


# --- The page ------------------------------------------------------------------------------


def test_page_requires_sign_in(client, db):
    response = client.get("/spotify/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_page_shows_status_and_disconnects(browser, user, make_connection):
    make_connection(user)
    page = browser.get("/spotify/")
    assert b"Reconnect Spotify" in page.content and b"Disconnect" in page.content
    assert_no_secrets(page)
    response = browser.post("/spotify/", {"action": "disconnect", "purge": "1"})
    assert response.status_code == 302
    assert nothing_stored()
    assert b"Connect Spotify" in browser.get("/spotify/").content


def test_page_rejects_unknown_actions(browser):
    response = browser.post("/spotify/", {"action": "explode"})
    assert response.status_code == 400 and b"action:" in response.content


def test_errors_from_spotify_during_the_callback_store_nothing(browser, spotify):
    params = start(browser)
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    spotify.api(
        "GET", "/me", status=429, body=error_body(429, "Too many"), headers={"Retry-After": "30"}
    )
    response = browser.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert nothing_stored()
    assert next(c.request.url for c in spotify.rsps.calls) == TOKEN_URL


def test_connect_when_spotify_is_not_configured_says_so(browser, settings):
    settings.SPOTIFY_CLIENT_ID = ""
    response = browser.post(CONNECT)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "spotify_not_configured"


def test_page_purge_says_only_what_it_does(browser, user, make_connection):
    make_connection(user)
    response = browser.post("/spotify/", {"action": "disconnect", "purge": "1"}, follow=True)
    text = response.content.decode()
    assert "Spotify disconnected; Encore keeps no other Spotify data of yours." in text
    assert "data deleted" not in text
