"""The admin shows that a token is stored and when it expires, never the token."""

from __future__ import annotations

from django.contrib.auth.models import Permission

from spotify_integration.models import SpotifyConnection
from spotify_integration.vault import token_decrypt
from tests.spotify_integration.factories import UserFactory
from tests.spotify_integration.fakes import ISSUED_SECRETS


def _assert_clean(html: str, conn: SpotifyConnection) -> None:
    for value in ISSUED_SECRETS:
        assert value not in html
    assert conn.access_token_encrypted not in html
    assert conn.refresh_token_encrypted not in html
    assert "gAAAAA" not in html


def test_changelist_and_change_page_show_no_token(client, staff_user, user, make_connection):
    conn = make_connection(user)
    assert token_decrypt(ciphertext=conn.access_token_encrypted) in ISSUED_SECRETS
    client.force_login(staff_user)

    listing = client.get("/admin/spotify_integration/spotifyconnection/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert conn.account_id in html and "Token stored" in html
    _assert_clean(html, conn)

    change = client.get(f"/admin/spotify_integration/spotifyconnection/{conn.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert "Refresh token expires" in html
    assert str(conn.refresh_token_expires_at.year) in html
    _assert_clean(html, conn)

    filtered = client.get("/admin/spotify_integration/spotifyconnection/?status__exact=active")
    assert filtered.status_code == 200 and conn.account_id in filtered.content.decode()


def test_disconnect_action_calls_the_service(client, staff_user, user, make_connection):
    conn = make_connection(user)
    client.force_login(staff_user)
    response = client.post(
        "/admin/spotify_integration/spotifyconnection/",
        {"action": "disconnect", "_selected_action": [conn.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Disconnected 1 Spotify connection(s)." in response.content.decode()
    assert not SpotifyConnection.objects.exists()


def test_connections_cannot_be_added_by_hand(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/admin/spotify_integration/spotifyconnection/add/").status_code == 403


def test_view_only_staff_cannot_disconnect(client, user, make_connection):
    # Given a staff user who may only view connections
    conn = make_connection(user)
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_spotifyconnection"))
    client.force_login(viewer)
    listing = client.get("/admin/spotify_integration/spotifyconnection/")
    assert listing.status_code == 200 and conn.account_id in listing.content.decode()
    assert 'value="disconnect"' not in listing.content.decode()

    # When they post the action anyway
    response = client.post(
        "/admin/spotify_integration/spotifyconnection/",
        {"action": "disconnect", "_selected_action": [conn.pk]},
        follow=True,
    )

    # Then nothing is disconnected
    assert "Disconnected" not in response.content.decode()
    assert SpotifyConnection.objects.filter(pk=conn.pk).exists()
