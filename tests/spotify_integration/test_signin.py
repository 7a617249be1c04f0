"""Signing in: Encore's login page (password), sign-out, and signing in with Spotify.

Real PostgreSQL and Redis; the accounts service and the Web API at the wire.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from spotify_integration.models import SpotifyConnection
from spotify_integration.ratelimit import spotify_pause
from spotify_integration.vault import token_decrypt
from tests.spotify_integration.factories import SpotifyConnectionFactory, UserFactory
from tests.spotify_integration.fakes import AUTHORIZE_URL, me_body, secret, token_body
from tests.spotify_integration.test_apis import (
    CALLBACK,
    assert_no_secrets,
    pkce_checking_token_endpoint,
)

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
SIGNIN = "/accounts/login/spotify/"
LOGOUT = "/accounts/logout/"


def _signed_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


# --- The login page ------------------------------------------------------------------------


def test_pages_that_need_a_user_send_people_to_our_login_page(client):
    response = client.get("/spotify/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/spotify/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content
    assert b"Sign in with Spotify" in page.content and b"/admin/" not in page.content


def test_a_password_sign_in_lands_on_the_spotify_page(client, user):
    response = client.post(LOGIN, {"username": "listener", "password": "pw-listener-1"})
    assert response.status_code == 302 and response["Location"] == "/spotify/"
    assert _signed_in_user_id(client) == user.pk
    assert client.get("/spotify/").status_code == 200


def test_next_is_followed_when_it_is_on_this_site(client, user):
    form = {"username": "listener", "password": "pw-listener-1"}
    response = client.post(LOGIN, {**form, "next": "/api/spotify/status/"})
    assert response["Location"] == "/api/spotify/status/"
    client.logout()
    response = client.post(LOGIN, {**form, "next": "https://evil.example/"})
    assert response["Location"] == "/spotify/"


def test_a_wrong_password_is_refused_on_the_page(client, user):
    response = client.post(LOGIN, {"username": "listener", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert _signed_in_user_id(client) is None


def test_a_missing_field_is_named(client, db):
    response = client.post(LOGIN, {"username": "listener"})
    assert response.status_code == 200 and b"password: This field is required." in response.content


def test_sign_out_needs_a_post_and_returns_to_the_login_page(client, user):
    client.force_login(user)
    assert client.get(LOGOUT).status_code == 405
    response = client.post(LOGOUT)
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert _signed_in_user_id(client) is None


def test_the_spotify_page_offers_sign_out(client, user):
    client.force_login(user)
    page = client.get("/spotify/").content
    assert b'action="/accounts/logout/"' in page and b"Signed in as listener" in page


# --- Signing in with Spotify -----------------------------------------------------------------


def _start_signin(client: Client, **query: str) -> dict[str, str]:
    response = client.get(SIGNIN, query)
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(AUTHORIZE_URL + "?")
    return {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}


def _signin(client: Client, spotify, account_id: str, **query: str):
    params = _start_signin(client, **query)
    tokens = token_body()
    pkce_checking_token_endpoint(spotify, params["code_challenge"], tokens)
    spotify.api("GET", "/me", body=me_body(account_id, "Freddie"))
    response = client.get(CALLBACK, {"state": params["state"], "code": secret("code")})
    return response, tokens


def test_spotify_signs_in_the_user_whose_connection_holds_the_account(client, spotify):
    conn = SpotifyConnectionFactory(account_id="acct-fm")
    response, tokens = _signin(client, spotify, "acct-fm", next="/api/spotify/status/")
    assert response.status_code == 302 and response["Location"] == "/api/spotify/status/"
    assert _signed_in_user_id(client) == conn.user_id
    # The fresh grant renews the connection (a new 6 months)
    renewed = SpotifyConnection.objects.get(pk=conn.pk)
    assert token_decrypt(ciphertext=renewed.refresh_token_encrypted) == tokens["refresh_token"]
    assert renewed.authorized_at > conn.authorized_at
    page = client.get("/spotify/")
    assert b"Signed in with Spotify as Freddie." in page.content
    assert_no_secrets(page)


def test_spotify_sign_in_without_a_linked_user_is_refused_when_sign_ups_are_off(spotify):
    client = Client(HTTP_ACCEPT="text/html")  # a browser: the refusal is a page
    response, _ = _signin(client, spotify, "acct-nobody", next="/spotify/")
    assert response.status_code == 403
    assert b"No Encore account is linked to this Spotify account" in response.content
    assert (
        b"You are not signed in" in response.content
        and b'href="/accounts/login/"' in response.content
    )
    assert _signed_in_user_id(client) is None
    assert not SpotifyConnection.objects.exists()
    assert get_user_model().objects.count() == 0


def test_the_api_client_gets_the_error_code(spotify):
    client = Client(HTTP_ACCEPT="application/json")
    response, _ = _signin(client, spotify, "acct-nobody")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "spotify_sign_in_refused"


def test_sign_ups_create_a_user_without_a_password(client, spotify, settings):
    settings.SPOTIFY_SIGNUP_ENABLED = True
    response, _ = _signin(client, spotify, "acct-new")
    assert response.status_code == 302 and response["Location"] == "/spotify/"
    user = get_user_model().objects.get(username="spotify-acct-new")
    assert not user.has_usable_password() and not user.is_staff
    assert _signed_in_user_id(client) == user.pk
    assert SpotifyConnection.objects.get(user=user).account_id == "acct-new"
    assert b"Your Encore account was created." in client.get("/spotify/").content
    # Signing in again finds the same user: never a second one
    client.logout()
    _signin(client, spotify, "acct-new")
    assert _signed_in_user_id(client) == user.pk
    assert get_user_model().objects.count() == 1


def test_staff_sign_in_with_their_password_not_spotify(client, spotify, staff_user):
    SpotifyConnectionFactory(user=staff_user, account_id="acct-staff")
    response, _ = _signin(client, spotify, "acct-staff")
    assert response.status_code == 403 and b"sign in with your password" in response.content
    assert _signed_in_user_id(client) is None


def test_a_sign_in_while_spotify_is_paused_says_to_try_again(client, spotify):
    SpotifyConnectionFactory(account_id="acct-fm")
    params = _start_signin(client)
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    spotify_pause(retry_after=60)
    response = client.get(CALLBACK, {"state": params["state"], "code": secret("code")})
    assert response.status_code == 429 and _signed_in_user_id(client) is None


def test_a_signed_in_user_is_not_sent_to_spotify(client, user):
    client.force_login(user)
    response = client.get(SIGNIN)
    assert response.status_code == 302 and response["Location"] == "/spotify/"


def test_a_sign_in_state_is_bound_to_its_browser(spotify):
    alice, mallory = Client(), Client()
    params = _start_signin(alice)
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    response = mallory.get(CALLBACK, {"state": params["state"], "code": secret("code")})
    assert response.status_code == 400 and not spotify.rsps.calls


# --- Never one Spotify account for two users ------------------------------------------------


def test_user_b_connecting_user_as_spotify_account_is_refused_with_a_clear_message(spotify):
    SpotifyConnectionFactory(account_id="acct-a", user=UserFactory(username="a"))
    b = UserFactory(username="b")
    client = Client()
    client.force_login(b)
    start = client.post("/api/spotify/connect/")
    params = {k: v[0] for k, v in parse_qs(urlparse(start.json()["authorize_url"]).query).items()}
    pkce_checking_token_endpoint(spotify, params["code_challenge"], token_body())
    spotify.api("GET", "/me", body=me_body("acct-a"))
    response = client.get(
        CALLBACK, {"state": params["state"], "code": secret("code")}, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 409
    assert b"already connected to another Encore user" in response.content
    assert not SpotifyConnection.objects.filter(user=b).exists()
    assert SpotifyConnection.objects.get(account_id="acct-a").user.username == "a"
