"""Encore's own login page in a real browser: sign in, land on /spotify/, sign out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.spotify_integration.factories import SpotifyConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.loopback, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listener(db):
    user = get_user_model().objects.create_user(username="freddie", password="pw-freddie-1")
    # Connected 170 days ago: the 6-month authorization ends within the 14-day warning.
    SpotifyConnectionFactory(
        user=user, account_id="acct-fm", authorized_at=timezone.now() - timedelta(days=170)
    )
    return user


def test_the_login_page_signs_in_and_lands_on_the_spotify_page(page, listener, screenshot):
    page.goto("/spotify/")
    page.wait_for_url("**/accounts/login/?next=/spotify/")
    assert page.get_by_role("link", name="Sign in with Spotify").is_visible()
    page.get_by_label("Username").fill("freddie")
    page.get_by_label("Password").fill("pw-freddie-1")
    screenshot("login-page")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/spotify/")
    assert "Signed in as freddie" in page.inner_text("body")
    status = page.locator("[data-state]")
    assert status.get_attribute("data-state") == "expiring"
    assert "expiring soon" in status.inner_text()
    assert "connect again before then" in page.inner_text("body")
    screenshot("spotify-page-signed-in-expiring")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/spotify/")
    page.wait_for_url("**/accounts/login/?next=/spotify/")


def test_a_wrong_password_stays_on_the_page_with_the_reason(page, listener, screenshot):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("freddie")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "correct username and password" in alert.inner_text()
    assert page.get_by_label("Username").input_value() == "freddie"
    screenshot("login-page-wrong-password")
